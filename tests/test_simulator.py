"""The simulator speaks the legacy API over real loopback HTTP, faults included."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import requests

from tray_app.core.clock import FakeClock
from tray_app.sim.server import (
    DEMO_API_ID,
    DEMO_PASSWORD,
    DEMO_USER,
    Account,
    Simulator,
)

SESSION_LINE = re.compile(r"OK: ([0-9a-f]{32})\n")
DEMO = {"api_id": DEMO_API_ID, "user": DEMO_USER, "password": DEMO_PASSWORD}
FROZEN = Account("2000002", "ice", "cold-pw", frozen=True)
RICH = Account("3000003", "rich", "s3cret-pw", balance=7.25)


@pytest.fixture
def sim(clock: FakeClock) -> Iterator[Simulator]:
    demo = Account(DEMO_API_ID, DEMO_USER, DEMO_PASSWORD)
    with Simulator(clock=clock, accounts=[demo, FROZEN, RICH], seed=1) as simulator:
        yield simulator


def call(
    http: requests.Session,
    sim: Simulator,
    command: str,
    method: str = "POST",
    timeout: float = 5.0,
    **params: str,
) -> requests.Response:
    url = f"{sim.base_url}/http/{command}"
    if method == "GET":
        return http.get(url, params=params, timeout=timeout)
    return http.post(url, data=params, timeout=timeout)


def sign_in(http: requests.Session, sim: Simulator, **credentials: str) -> str:
    response = call(http, sim, "auth", **(credentials or DEMO))
    match = SESSION_LINE.fullmatch(response.text)
    assert match, response.text
    return match.group(1)


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_auth_answers_a_32_hex_session_id_as_plain_text(
    http: requests.Session, sim: Simulator
) -> None:
    response = call(http, sim, "auth", **DEMO)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    match = SESSION_LINE.fullmatch(response.text)
    assert match
    assert sim.session_ids() == [match.group(1)]


def test_each_sign_in_gets_a_new_session_id(http: requests.Session, sim: Simulator) -> None:
    assert sign_in(http, sim) != sign_in(http, sim)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({**DEMO, "password": "wrong"}, "ERR: 001, Authentication failed\n"),
        ({**DEMO, "user": "nobody"}, "ERR: 001, Authentication failed\n"),
        ({**DEMO, "api_id": "9999999"}, "ERR: 108, Invalid or missing api_id\n"),
        ({"user": DEMO_USER, "password": DEMO_PASSWORD}, "ERR: 108, Invalid or missing api_id\n"),
        ({"api_id": DEMO_API_ID, "user": DEMO_USER}, "ERR: 101, Invalid or missing parameters\n"),
        ({}, "ERR: 101, Invalid or missing parameters\n"),
        ({"api_id": "2000002", "user": "ice", "password": "cold-pw"}, "ERR: 004, Account frozen\n"),
        (
            {"api_id": "2000002", "user": "ice", "password": "x"},
            "ERR: 001, Authentication failed\n",
        ),
    ],
    ids=[
        "wrong-password",
        "wrong-user",
        "unknown-api-id",
        "missing-api-id",
        "missing-password",
        "no-params",
        "frozen",
        "frozen-wrong-password",
    ],
)
def test_auth_errors_come_as_err_lines_with_status_200(
    http: requests.Session, sim: Simulator, params: dict[str, str], expected: str
) -> None:
    response = call(http, sim, "auth", **params)
    assert response.status_code == 200
    assert response.text == expected
    assert sim.session_ids() == []


def test_ping_echoes_the_session_id(http: requests.Session, sim: Simulator) -> None:
    session_id = sign_in(http, sim)
    assert call(http, sim, "ping", session_id=session_id).text == f"OK: {session_id}\n"


def test_bare_ping_mode_answers_ok_colon_alone(http: requests.Session, sim: Simulator) -> None:
    sim.bare_ping_ok = True
    session_id = sign_in(http, sim)
    assert call(http, sim, "ping", session_id=session_id).text == "OK:\n"


def test_ping_of_an_unknown_id_is_expired(http: requests.Session, sim: Simulator) -> None:
    response = call(http, sim, "ping", session_id="0" * 32)
    assert response.text == "ERR: 003, Session ID expired\n"


@pytest.mark.parametrize("params", [{}, {"session_id": ""}], ids=["absent", "empty"])
def test_ping_without_session_id_is_005(
    http: requests.Session, sim: Simulator, params: dict[str, str]
) -> None:
    assert call(http, sim, "ping", **params).text == "ERR: 005, Missing session ID\n"


def test_session_expires_after_its_idle_lifetime(
    http: requests.Session, sim: Simulator, clock: FakeClock
) -> None:
    session_id = sign_in(http, sim)
    clock.advance(sim.lifetime - 1)
    assert call(http, sim, "ping", session_id=session_id).text.startswith("OK")
    clock.advance(sim.lifetime - 1)
    assert call(http, sim, "ping", session_id=session_id).text.startswith("OK"), "ping re-arms"
    clock.advance(sim.lifetime)
    assert call(http, sim, "ping", session_id=session_id).text.startswith("ERR: 003")
    assert sim.session_ids() == []


def test_expired_session_is_forgotten_even_if_time_went_back(
    http: requests.Session, clock: FakeClock
) -> None:
    with Simulator(clock=clock, lifetime=60) as sim:
        session_id = sign_in(http, sim)
        clock.advance(60)
        assert sim.session_ids() == []
        clock.advance(-60)
        assert call(http, sim, "ping", session_id=session_id).text.startswith("ERR: 003")


def test_getbalance_by_session_re_arms_it(
    http: requests.Session, sim: Simulator, clock: FakeClock
) -> None:
    session_id = sign_in(http, sim)
    clock.advance(sim.lifetime - 1)
    assert call(http, sim, "getbalance", session_id=session_id).text == "Credit: 42.50\n"
    clock.advance(sim.lifetime - 1)
    assert call(http, sim, "ping", session_id=session_id).text.startswith("OK")


def test_getbalance_is_per_account_and_by_session_or_credentials(
    http: requests.Session, sim: Simulator
) -> None:
    rich = {"api_id": RICH.api_id, "user": RICH.user, "password": RICH.password}
    session_id = sign_in(http, sim, **rich)
    assert call(http, sim, "getbalance", session_id=session_id).text == "Credit: 7.25\n"
    assert call(http, sim, "getbalance", **rich).text == "Credit: 7.25\n"
    assert call(http, sim, "getbalance", **DEMO).text == "Credit: 42.50\n"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"session_id": "f" * 32}, "ERR: 003, Session ID expired\n"),
        ({}, "ERR: 005, Missing session ID\n"),
        ({**DEMO, "password": "nope"}, "ERR: 001, Authentication failed\n"),
        ({"api_id": "2000002", "user": "ice", "password": "cold-pw"}, "ERR: 004, Account frozen\n"),
    ],
    ids=["unknown-session", "nothing", "bad-credentials", "frozen"],
)
def test_getbalance_errors(
    http: requests.Session, sim: Simulator, params: dict[str, str], expected: str
) -> None:
    assert call(http, sim, "getbalance", **params).text == expected


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_get_and_post_both_work(http: requests.Session, sim: Simulator, method: str) -> None:
    response = call(http, sim, "auth", method, **DEMO)
    match = SESSION_LINE.fullmatch(response.text)
    assert match
    ping = call(http, sim, "ping", method, session_id=match.group(1))
    assert ping.text == f"OK: {match.group(1)}\n"


def test_form_body_wins_over_the_query(http: requests.Session, sim: Simulator) -> None:
    response = http.post(f"{sim.base_url}/http/auth?password=wrong", data=DEMO, timeout=5)
    assert SESSION_LINE.fullmatch(response.text)


def test_keep_alive_connection_serves_several_requests(
    http: requests.Session, sim: Simulator
) -> None:
    session_id = sign_in(http, sim)
    for _ in range(5):
        assert call(http, sim, "ping", session_id=session_id).text.startswith("OK")
    assert sim.count("ping", "ok") == 5


def test_an_answer_leaves_in_one_write_headers_and_body_together(
    http: requests.Session, sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written in two, the body came as a second segment, and a client that had read the
    headers often slept again for it: one more wake-up of the tray's worker per ping."""
    session_id = sign_in(http, sim)
    writes: list[bytes] = []
    real_send, real_sendall = socket.socket.send, socket.socket.sendall

    def record(data: bytes) -> None:
        if threading.current_thread() is not threading.main_thread():  # the server's side
            writes.append(bytes(data))

    def send(self: socket.socket, data: bytes, *flags: int) -> int:
        record(data)
        return real_send(self, data, *flags)

    def sendall(self: socket.socket, data: bytes, *flags: int) -> None:
        record(data)
        real_sendall(self, data, *flags)

    monkeypatch.setattr(socket.socket, "send", send)
    monkeypatch.setattr(socket.socket, "sendall", sendall)
    for _ in range(3):
        assert call(http, sim, "ping", session_id=session_id).text == f"OK: {session_id}\n"

    assert len(writes) == 3, [w[:40] for w in writes]
    for write in writes:
        head, _, body = write.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and body == f"OK: {session_id}\n".encode()


def test_expire_all_forgets_every_session(http: requests.Session, sim: Simulator) -> None:
    ids = [sign_in(http, sim) for _ in range(3)]
    sim.expire_all()
    assert sim.session_ids() == []
    for session_id in ids:
        assert call(http, sim, "ping", session_id=session_id).text.startswith("ERR: 003")


def test_sim_expire_endpoint_expires_sessions(http: requests.Session, sim: Simulator) -> None:
    session_id = sign_in(http, sim)
    assert http.get(f"{sim.base_url}/sim/expire", timeout=5).status_code == 405
    assert sim.session_ids() == [session_id]
    response = http.post(f"{sim.base_url}/sim/expire", timeout=5)
    assert response.text == "OK\n"
    assert call(http, sim, "ping", session_id=session_id).text.startswith("ERR: 003")


def test_sim_faults_endpoint_sets_faults_all_or_nothing(
    http: requests.Session, sim: Simulator
) -> None:
    url = f"{sim.base_url}/sim/faults"
    assert http.post(url, data={"latency": "0.25", "fault_rate": "0.5"}, timeout=5).text == "OK\n"
    assert (sim.latency, sim.fault_rate) == (0.25, 0.5)
    for bad in ({"latency": "0", "fault_rate": "2"}, {"latency": "x"}, {"next_fault": "fire"}):
        response = http.post(url, data=bad, timeout=5)
        assert response.status_code == 400
        assert response.text.startswith("ERR:")
        assert (sim.latency, sim.fault_rate) == (0.25, 0.5)
    assert http.post(url, data={"latency": "0", "fault_rate": "0"}, timeout=5).text == "OK\n"
    assert http.post(url, data={"next_fault": "503"}, timeout=5).text == "OK\n"
    assert call(http, sim, "ping", session_id="x").status_code == 503


def test_sim_stats_endpoint_counts_per_command_and_outcome(
    http: requests.Session, sim: Simulator
) -> None:
    session_id = sign_in(http, sim)
    call(http, sim, "ping", session_id=session_id)
    call(http, sim, "ping", session_id=session_id)
    call(http, sim, "ping")
    sim.force_next_fault("503")
    call(http, sim, "getbalance", session_id=session_id)
    response = http.get(f"{sim.base_url}/sim/stats", timeout=5)
    assert response.headers["Content-Type"] == "application/json"
    expected = {
        "auth": {"ok": 1},
        "getbalance": {"fault 503": 1},
        "ping": {"ERR 005": 1, "ok": 2},
    }
    assert json.loads(response.text) == expected
    assert sim.stats() == expected
    assert sim.count("ping") == 3
    assert sim.count("ping", "ok") == 2
    assert sim.count("auth", "ERR 001") == 0


def test_unknown_paths_are_404_and_not_counted(http: requests.Session, sim: Simulator) -> None:
    assert http.post(f"{sim.base_url}/http/nosuchcommand", data=DEMO, timeout=5).status_code == 404
    assert http.get(f"{sim.base_url}/", timeout=5).status_code == 404
    assert sim.stats() == {}


def test_forced_503_fault_is_an_html_error_page(http: requests.Session, sim: Simulator) -> None:
    sim.force_next_fault("503")
    response = call(http, sim, "auth", **DEMO)
    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<html>" in response.text
    assert sim.session_ids() == [], "a faulted request never reaches the API"
    assert SESSION_LINE.fullmatch(call(http, sim, "auth", **DEMO).text), "one-shot"


def test_forced_garbage_fault_is_an_unparseable_200(http: requests.Session, sim: Simulator) -> None:
    session_id = sign_in(http, sim)
    for _ in range(12):
        sim.force_next_fault("garbage")
        response = call(http, sim, "ping", session_id=session_id)
        assert response.status_code == 200
        assert not re.match(r"\s*(OK|ERR|Credits?)\b", response.text, re.IGNORECASE)
    assert sim.count("ping", "fault garbage") == 12


def test_forced_drop_fault_closes_the_connection(http: requests.Session, sim: Simulator) -> None:
    sim.force_next_fault("drop")
    with pytest.raises(requests.ConnectionError):
        call(http, sim, "auth", **DEMO)
    assert sim.count("auth", "fault drop") == 1
    assert SESSION_LINE.fullmatch(call(http, sim, "auth", **DEMO).text)


def test_forced_hang_outlasts_the_client_timeout(http: requests.Session, sim: Simulator) -> None:
    sim.force_next_fault("hang", seconds=5)
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        call(http, sim, "ping", timeout=0.3, session_id="x")
    assert time.monotonic() - started < 2
    assert sim.count("ping", "fault hang") == 1


def test_unknown_fault_kind_and_bad_values_are_refused(sim: Simulator) -> None:
    with pytest.raises(ValueError, match="fault kind"):
        sim.force_next_fault("fire")
    with pytest.raises(ValueError, match="fault_rate"):
        sim.set_faults(fault_rate=1.5)
    with pytest.raises(ValueError, match="latency"):
        sim.set_faults(latency=-1)
    with pytest.raises(ValueError, match="latency"):
        sim.set_faults(latency=float("inf"))


def _ping_outcomes(http: requests.Session, sim: Simulator, n: int) -> tuple[list[str], int]:
    """Ping n times; return the outcomes the server recorded and the drops the client saw."""
    drops = 0
    for _ in range(n):
        try:
            call(http, sim, "ping", session_id="0" * 32)
        except requests.ConnectionError:
            drops += 1
    outcomes = [o for o, c in sim.stats()["ping"].items() for _ in range(c)]
    return outcomes, drops


def test_fault_rate_faults_about_that_share_of_requests(http: requests.Session) -> None:
    with Simulator(fault_rate=0.25, seed=1234) as sim:
        outcomes, client_drops = _ping_outcomes(http, sim, 200)
    faults = [o for o in outcomes if o.startswith("fault")]
    assert len(outcomes) == 200
    assert 0.15 * 200 <= len(faults) <= 0.35 * 200
    assert set(faults) == {"fault 503", "fault garbage", "fault drop"}
    assert client_drops == outcomes.count("fault drop")
    assert outcomes.count("ERR 003") == 200 - len(faults)


def test_same_seed_gives_the_same_fault_sequence(http: requests.Session) -> None:
    sequences = []
    for _ in range(2):
        records: list[dict[str, str]] = []
        with Simulator(fault_rate=0.5, seed=7, on_request=records.append) as sim:
            for _ in range(30):
                with contextlib.suppress(requests.ConnectionError):
                    call(http, sim, "ping", session_id="0" * 32)
        sequences.append([r["outcome"] for r in records])
    assert sequences[0] == sequences[1]
    assert len(set(sequences[0])) > 1


def test_latency_delays_answers_and_can_be_lifted(http: requests.Session, sim: Simulator) -> None:
    sim.set_faults(latency=0.3)
    started = time.monotonic()
    assert call(http, sim, "ping").text.startswith("ERR: 005")
    assert time.monotonic() - started >= 0.3
    sim.set_faults(latency=0)
    started = time.monotonic()
    call(http, sim, "ping")
    assert time.monotonic() - started < 0.3


def test_on_request_records_each_api_request_without_secrets(
    http: requests.Session, clock: FakeClock
) -> None:
    records: list[dict[str, str]] = []
    with Simulator(clock=clock, accounts=[RICH], on_request=records.append) as sim:
        rich = {"api_id": RICH.api_id, "user": RICH.user, "password": RICH.password}
        session_id = sign_in(http, sim, **rich)
        call(http, sim, "ping", session_id=session_id)
        call(http, sim, "auth", **{**rich, "password": "wrong"})
        call(http, sim, "getbalance", session_id="0" * 32)
        sim.force_next_fault("drop")
        with pytest.raises(requests.ConnectionError):
            call(http, sim, "ping", session_id=session_id)
        http.get(f"{sim.base_url}/sim/stats", timeout=5)
    assert records == [
        {"command": "auth", "outcome": "ok"},
        {"command": "ping", "outcome": "ok"},
        {"command": "auth", "outcome": "ERR 001"},
        {"command": "getbalance", "outcome": "ERR 003"},
        {"command": "ping", "outcome": "fault drop"},
    ]


def test_a_failing_callback_does_not_break_serving(http: requests.Session) -> None:
    def explode(record: dict[str, str]) -> None:
        raise RuntimeError("callback bug")

    with Simulator(on_request=explode) as sim:
        assert SESSION_LINE.fullmatch(call(http, sim, "auth", **DEMO).text)


def test_nothing_reaches_stderr_and_no_password_anywhere(
    http: requests.Session, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="tray_app.sim")
    with Simulator(accounts=[RICH], fault_rate=0.5, seed=3) as sim:
        for method in ("GET", "POST"):
            for _ in range(10):
                with contextlib.suppress(requests.ConnectionError):
                    call(
                        http,
                        sim,
                        "auth",
                        method,
                        api_id=RICH.api_id,
                        user=RICH.user,
                        password=RICH.password,
                    )
    out, err = capfd.readouterr()
    assert err == ""
    assert RICH.password not in out
    assert caplog.records, "the access log goes to logging at debug level"
    assert RICH.password not in caplog.text


def test_account_repr_hides_the_password() -> None:
    assert RICH.password not in repr(RICH)
    assert "rich" in repr(RICH)


def test_concurrent_sign_ins_get_distinct_sessions(http: requests.Session, sim: Simulator) -> None:
    results: list[str] = []

    def worker() -> None:
        with requests.Session() as session:
            session.trust_env = False
            results.append(sign_in(session, sim))

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 20
    assert sorted(sim.session_ids()) == sorted(results)


def test_stop_is_quick_with_a_request_hanging_and_idempotent(http: requests.Session) -> None:
    sim = Simulator().start()
    sim.force_next_fault("hang", seconds=60)
    errors: list[BaseException] = []

    def hanging_call() -> None:
        try:
            call(http, sim, "ping", timeout=30, session_id="x")
        except requests.RequestException as error:
            errors.append(error)

    thread = threading.Thread(target=hanging_call)
    thread.start()
    wait_until(lambda: sim.count("ping", "fault hang") == 1)
    started = time.monotonic()
    sim.stop()
    assert time.monotonic() - started < 2
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert isinstance(errors[0], requests.ConnectionError)
    sim.stop()
    with pytest.raises(requests.ConnectionError):
        call(http, sim, "ping", session_id="x")


def test_stop_is_quick_during_latency_and_cuts_keep_alive_connections(
    http: requests.Session,
) -> None:
    sim = Simulator().start()
    session_id = sign_in(http, sim)
    sim.set_faults(latency=60)
    errors: list[BaseException] = []

    def slow_call() -> None:
        try:
            call(http, sim, "ping", timeout=30, session_id=session_id)
        except requests.RequestException as error:
            errors.append(error)

    thread = threading.Thread(target=slow_call)
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    sim.stop()
    assert time.monotonic() - started < 2
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert isinstance(errors[0], requests.ConnectionError)
    assert sim.count("ping") == 0, "a request cut by stop() is never answered"


def test_stop_without_start_closes_the_socket() -> None:
    sim = Simulator()
    sim.stop()
    sim.stop()
    with pytest.raises(RuntimeError):
        sim.start()


def test_serve_forever_blocks_until_stopped(http: requests.Session) -> None:
    sim = Simulator()
    thread = threading.Thread(target=sim.serve_forever)
    thread.start()
    try:
        assert SESSION_LINE.fullmatch(call(http, sim, "auth", **DEMO).text)
        assert thread.is_alive()
    finally:
        sim.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_base_url_names_the_bound_loopback_port(sim: Simulator) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", sim.base_url)
    assert not sim.base_url.endswith(":0")


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "", "example.com"])
def test_non_loopback_hosts_are_refused(host: str) -> None:
    with pytest.raises(ValueError, match="allow_remote"):
        Simulator(host)


def test_duplicate_accounts_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        Simulator(accounts=[RICH, RICH])


def test_curl_form_post_signs_in(sim: Simulator) -> None:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    result = subprocess.run(
        [
            curl,
            "--silent",
            "--show-error",
            "--noproxy",
            "*",
            "--max-time",
            "5",
            "--data",
            f"api_id={DEMO_API_ID}&user={DEMO_USER}&password={DEMO_PASSWORD}",
            f"{sim.base_url}/http/auth",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert SESSION_LINE.fullmatch(result.stdout), result.stdout
