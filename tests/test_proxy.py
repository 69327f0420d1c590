"""The local API proxy on loopback: a real keeper, the real simulator, curl as the client.

The keeper runs on the Qt thread with an injected clock and runs its requests inline; the
proxy serves on its own threads, as in the app. A call that needs the keeper to act (a new
sign-in) runs off the test's thread while the Qt loop turns.
"""

from __future__ import annotations

import concurrent.futures
import logging
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests

from tray_app.core.clock import FakeClock
from tray_app.core.proxy_rules import MAX_ANSWER_BODY, MAX_REQUEST_BODY
from tray_app.core.session import DEFAULT_INTERVAL, LIFETIME
from tray_app.core.state import State
from tray_app.qt.keeper import Keeper
from tray_app.qt.proxy import LocalProxy
from tray_app.qt.session_link import SessionLink
from tray_app.services.credentials import Credentials
from tray_app.sim.server import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER, Simulator

DEMO = Credentials(DEMO_API_ID, DEMO_USER, DEMO_PASSWORD)
CURL = shutil.which("curl")
needs_curl = pytest.mark.skipif(CURL is None, reason="curl is not installed (apt-get install curl)")


class Log:
    """The simulator's request log, as ``clickatell-tray simulate`` prints it."""

    def __init__(self) -> None:
        self.records: list[dict[str, str]] = []
        self._lock = threading.Lock()

    def __call__(self, record: dict[str, str]) -> None:
        with self._lock:
            self.records.append(record)

    def commands(self) -> list[str]:
        with self._lock:
            return [record["command"] for record in self.records]


@pytest.fixture
def sim_log() -> Log:
    return Log()


@pytest.fixture
def simulator(clock: FakeClock, sim_log: Log) -> Iterator[Simulator]:
    with Simulator(clock=clock, on_request=sim_log) as server:
        yield server


@pytest.fixture
def keeper(signed_in_keeper: Keeper) -> Keeper:
    return signed_in_keeper


def start_proxy(keeper: Keeper, base_url: str) -> LocalProxy:
    return LocalProxy(SessionLink(keeper), base_url).start()


@pytest.fixture
def proxy(keeper: Keeper, simulator: Simulator) -> Iterator[LocalProxy]:
    server = start_proxy(keeper, simulator.base_url)
    yield server
    server.stop()


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    assert CURL is not None
    return subprocess.run(
        [CURL, "--silent", "--show-error", "--max-time", "30", *args],
        capture_output=True,
        text=True,
        timeout=40,
        check=False,
    )


def off_thread(qtbot: Any, call: Callable[[], Any]) -> Any:
    """Run ``call`` on another thread while the Qt loop turns (the keeper lives there)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = pool.submit(call)
        qtbot.waitUntil(future.done, timeout=20_000)
        return future.result()


@needs_curl
def test_curl_without_a_session_id_gets_ok_and_credit(
    proxy: LocalProxy, sim_log: Log, keeper: Keeper
) -> None:
    ping = curl(f"{proxy.url}/http/ping")
    balance = curl("--data", "", f"{proxy.url}/http/getbalance")
    assert ping.stdout == f"OK: {keeper.snapshot.session_id}\n", ping.stderr
    assert balance.stdout == "Credit: 42.50\n", balance.stderr
    assert sim_log.records[-2:] == [
        {"command": "ping", "outcome": "ok"},
        {"command": "getbalance", "outcome": "ok"},
    ]


@needs_curl
def test_after_expiry_curl_still_succeeds_with_exactly_one_new_auth(
    proxy: LocalProxy, simulator: Simulator, sim_log: Log, keeper: Keeper, qtbot: Any
) -> None:
    old_id = keeper.snapshot.session_id
    simulator.expire_all()
    before = len(sim_log.records)
    result = off_thread(qtbot, lambda: curl(f"{proxy.url}/http/getbalance"))
    assert result.stdout == "Credit: 42.50\n", result.stderr
    assert sim_log.commands()[before:] == ["getbalance", "auth", "getbalance"]
    assert keeper.snapshot.session_id not in (None, old_id)


def test_concurrent_calls_that_find_the_session_gone_share_one_sign_in(
    proxy: LocalProxy, simulator: Simulator, sim_log: Log, qtbot: Any
) -> None:
    simulator.expire_all()
    before = len(sim_log.records)

    def many() -> list[str]:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            calls = [pool.submit(requests.get, f"{proxy.url}/http/ping") for _ in range(8)]
            return [call.result(timeout=20).text for call in calls]

    answers = off_thread(qtbot, many)
    assert all(answer.startswith("OK: ") for answer in answers), answers
    assert sim_log.commands()[before:].count("auth") == 1


@needs_curl
@pytest.mark.parametrize(
    "path", ["", "/", "/http/ping", "/wrong-token/http/ping", "/wrong-token/default/http/ping"]
)
def test_wrong_or_missing_token_is_403_and_never_reaches_the_api(
    proxy: LocalProxy, sim_log: Log, path: str
) -> None:
    before = len(sim_log.records)
    result = curl(
        "--output", "/dev/null", "--write-out", "%{http_code}", proxy.url.rsplit("/", 1)[0] + path
    )
    assert result.stdout == "403"
    assert len(sim_log.records) == before


def test_token_with_profile_and_refused_paths(proxy: LocalProxy, sim_log: Log) -> None:
    before = len(sim_log.records)
    assert requests.get(f"{proxy.url}/default/http/ping").text.startswith("OK: ")
    for path in ("/other/http/ping", "/http/auth", "/http/../sim/expire", "/sim/stats", "/http"):
        assert requests.get(f"{proxy.url}{path}").status_code == 404, path
    assert requests.put(f"{proxy.url}/http/ping").status_code == 405
    assert sim_log.commands()[before:] == ["ping"]


def test_a_proxied_call_moves_the_owners_expiry_and_next_ping(
    proxy: LocalProxy, keeper: Keeper, simulator: Simulator, clock: FakeClock, qtbot: Any
) -> None:
    signed_in_at = clock.wall()
    clock.advance(300)
    used_at = clock.wall()
    assert requests.post(f"{proxy.url}/http/getbalance").text == "Credit: 42.50\n"
    qtbot.waitUntil(lambda: keeper.snapshot.next_ping_at == used_at + DEFAULT_INTERVAL)
    assert keeper.snapshot.expires_at == used_at + LIFETIME
    pings = simulator.count("ping")
    # Without the call the keeper would ping at signed_in_at + interval: it does not.
    while clock.wall() < used_at + DEFAULT_INTERVAL - 5:
        clock.advance(5)
        keeper.tick()
    assert clock.wall() > signed_in_at + DEFAULT_INTERVAL
    assert simulator.count("ping") == pings
    clock.advance(10)
    keeper.tick()
    assert simulator.count("ping") == pings + 1


def test_an_answer_that_proves_nothing_moves_nothing(
    proxy: LocalProxy, keeper: Keeper, simulator: Simulator, clock: FakeClock, qtbot: Any
) -> None:
    before = keeper.snapshot
    clock.advance(300)
    simulator.force_next_fault("503")
    answer = requests.get(f"{proxy.url}/http/ping")
    assert answer.status_code == 503
    assert "Service Unavailable" in answer.text
    qtbot.wait(50)
    assert keeper.snapshot.next_ping_at == before.next_ping_at
    assert keeper.snapshot.expires_at == before.expires_at


def test_without_a_session_the_proxy_says_so(
    proxy: LocalProxy, keeper: Keeper, sim_log: Log, qtbot: Any
) -> None:
    keeper.sign_out()
    qtbot.waitUntil(lambda: proxy._link.snapshot.state is State.SIGNED_OUT)
    before = len(sim_log.records)
    answer = requests.get(f"{proxy.url}/http/ping")
    assert (answer.status_code, answer.text) == (
        503,
        "proxy: no live session (signed out): sign in first\n",
    )
    assert len(sim_log.records) == before


class Upstream:
    """A stand-in API that records what it is sent and answers what a test sets."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str, dict[str, list[str]], str]] = []
        self.status = 200
        self.body = b"OK: \n"
        self.headers: dict[str, str] = {}
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._record()

            def do_POST(self) -> None:
                self._record()

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _record(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = self.rfile.read(length).decode()
                upstream.received.append(
                    (self.command, self.path, parse_qs(form), self.headers["Content-Type"])
                )
                self.send_response(upstream.status)
                for key, value in upstream.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(upstream.body)))
                self.end_headers()
                self.wfile.write(upstream.body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.close()


@pytest.fixture
def upstream_proxy(keeper: Keeper, upstream: Upstream) -> Iterator[LocalProxy]:
    server = start_proxy(keeper, upstream.base_url)
    yield server
    server.stop()


def test_credentials_the_client_sent_are_replaced_by_the_live_id(
    upstream_proxy: LocalProxy, upstream: Upstream, keeper: Keeper
) -> None:
    url = f"{upstream_proxy.url}/http/sendmsg?to=27999&session_id=stale&password=guess"
    form = {"text": "héllo wörld", "api_id": "1", "user": "me", "password": "secret"}
    requests.post(url, data=form)
    requests.get(f"{upstream_proxy.url}/utils/routeCoverage.php?msisdn=27999&user=me")
    (method, path, fields, content_type), (_, path2, fields2, _) = upstream.received
    assert (method, path, content_type) == (
        "POST",
        "/http/sendmsg",
        "application/x-www-form-urlencoded",
    )
    assert fields == {
        "to": ["27999"],
        "text": ["héllo wörld"],
        "session_id": [keeper.snapshot.session_id],
    }
    assert path2 == "/utils/routeCoverage.php"
    assert fields2 == {"msisdn": ["27999"], "session_id": [keeper.snapshot.session_id]}


def test_redirects_are_passed_back_not_followed(
    upstream_proxy: LocalProxy, upstream: Upstream, simulator: Simulator, sim_log: Log
) -> None:
    upstream.status = 302
    upstream.body = b"moved\n"
    upstream.headers = {"Location": f"{simulator.base_url}/http/ping"}
    before = len(sim_log.records)
    answer = requests.get(f"{upstream_proxy.url}/http/ping", allow_redirects=False)
    assert (answer.status_code, answer.content) == (302, b"moved\n")
    assert "Location" not in answer.headers
    assert len(upstream.received) == 1
    assert len(sim_log.records) == before


def test_bodies_are_capped(upstream_proxy: LocalProxy, upstream: Upstream) -> None:
    too_big = requests.post(
        f"{upstream_proxy.url}/http/sendmsg", data={"text": "x" * MAX_REQUEST_BODY}
    )
    assert too_big.status_code == 413
    assert upstream.received == []
    upstream.body = b"ID: 1\n" * (MAX_ANSWER_BODY // 6 + 1)
    answer = requests.get(f"{upstream_proxy.url}/http/sendmsg")
    assert answer.status_code == 502
    assert answer.text == "proxy: the server's answer was larger than 1024 KiB\n"
    upstream.body = b"ID: 1\n" * (MAX_ANSWER_BODY // 6)
    assert requests.get(f"{upstream_proxy.url}/http/sendmsg").content == upstream.body


def test_other_answers_go_back_unchanged(upstream_proxy: LocalProxy, upstream: Upstream) -> None:
    upstream.status = 200
    upstream.body = b"ERR: 114, Cannot route message\r\n"
    upstream.headers = {"Content-Type": "text/html", "Set-Cookie": "a=b"}
    answer = requests.get(f"{upstream_proxy.url}/http/sendmsg")
    assert (answer.status_code, answer.content) == (200, upstream.body)
    assert answer.headers["Content-Type"] == "text/html"
    assert "Set-Cookie" not in answer.headers
    assert len(upstream.received) == 1, "an error that is not session-gone is not retried"


def test_a_form_in_another_encoding_is_refused(
    upstream_proxy: LocalProxy, upstream: Upstream
) -> None:
    answer = requests.post(f"{upstream_proxy.url}/http/ping", files={"text": ("a", b"b")})
    assert answer.status_code == 415
    assert upstream.received == []


def test_a_proxy_in_the_environment_is_not_used_for_loopback(
    proxy: LocalProxy, simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    proxy.set_base_url(simulator.base_url)
    session = requests.Session()
    session.trust_env = False
    assert session.get(f"{proxy.url}/http/ping").text.startswith("OK: ")


def test_no_secret_reaches_the_log(
    proxy: LocalProxy,
    keeper: Keeper,
    simulator: Simulator,
    caplog: pytest.LogCaptureFixture,
    qtbot: Any,
) -> None:
    old_id = keeper.snapshot.session_id
    with caplog.at_level(logging.DEBUG, logger="tray_app"):
        requests.get(
            f"{proxy.url}/http/ping?password=hunter2&session_id=0123456789abcdef0123456789abcdef"
        )
        requests.get(f"{proxy.url.rsplit('/', 1)[0]}/nope/http/ping")
        simulator.expire_all()
        off_thread(qtbot, lambda: requests.get(f"{proxy.url}/http/getbalance"))
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "proxied /http/getbalance" in text, "nothing was logged: the test would prove nothing"
    new_id = keeper.snapshot.session_id
    assert new_id != old_id
    sent_id = "0123456789abcdef0123456789abcdef"
    for secret in (proxy.token, old_id, new_id, sent_id, "hunter2"):
        assert secret and secret not in text


def test_a_burst_of_calls_is_reported_to_the_keeper_once_a_second(
    proxy: LocalProxy, keeper: Keeper, clock: FakeClock, qtbot: Any
) -> None:
    reports: list[float] = []
    keeper.deadlines_changed.connect(lambda expires_at, _next: reports.append(expires_at))
    clock.advance(10)
    first = clock.wall()
    for step in (0.0, 0.4, 0.5):
        clock.advance(step)
        assert requests.get(f"{proxy.url}/http/ping").ok
    qtbot.wait(50)
    assert reports == [first + LIFETIME], "calls within a second were reported one by one"
    clock.advance(0.2)
    assert requests.get(f"{proxy.url}/http/ping").ok
    qtbot.waitUntil(lambda: len(reports) == 2)
    assert reports[-1] == pytest.approx(first + 1.1 + LIFETIME)
