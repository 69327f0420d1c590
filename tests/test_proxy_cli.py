"""``clickatell-tray proxy`` as a user runs it: real processes, curl, the simulator's own log.

One headless owner (``proxy --interval 4s``, signed in by ``login`` into a real Secret
Service keyring) against ``clickatell-tray simulate``, whose standard output is its request
log, one JSON line per request, read here as it comes with the time it came.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from desktop_stack import REQUIRE_DESKTOP, SecretService
from processes import LineReader, stop

from tray_app.sim.server import DEMO_API_ID, DEMO_USER

CLI = [sys.executable, "-m", "tray_app"]
INTERVAL = 4.0
TIMEOUT = 30.0

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed"),
]


class TimedLog:
    """The simulator's request log as (arrival time, record), read on a thread."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        self.base_url = process.stdout.readline().strip()
        self._records: list[tuple[float, dict[str, str]]] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._read, args=(process.stdout,), daemon=True).start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            with self._lock:
                self._records.append((time.monotonic(), json.loads(line)))

    def records(self) -> list[tuple[float, dict[str, str]]]:
        with self._lock:
            return list(self._records)

    def commands(self, since: int = 0) -> list[str]:
        return [record["command"] for _, record in self.records()[since:]]

    def not_pings(self, since: int = 0) -> list[str]:
        """The commands since then but the pings, which the owner sends on its own schedule."""
        return [command for command in self.commands(since) if command != "ping"]

    def wait_for(self, command: str, since: int, timeout: float = TIMEOUT) -> float:
        """When the first ``command`` after record number ``since`` arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for at, record in self.records()[since:]:
                if record["command"] == command:
                    return at
            time.sleep(0.02)
        pytest.fail(f"no {command} in the simulator's log within {timeout:g} s: {self.records()}")


@dataclass
class Owner:
    env: dict[str, str]
    sim: TimedLog
    url: str
    process: subprocess.Popen[str]
    err: LineReader
    password: str


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["curl", "--silent", "--show-error", "--max-time", "30", *args],
        capture_output=True,
        text=True,
        timeout=40,
        check=False,
    )


@pytest.fixture(scope="module")
def owner(
    secret_service: SecretService, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Owner]:
    simulator = subprocess.Popen(
        [*CLI, "simulate"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    sim = TimedLog(simulator)
    env = {**secret_service.env, "CLICKATELL_BASE_URL": sim.base_url}
    login = subprocess.run(
        [*CLI, "login", "--api-id", DEMO_API_ID, "--user", DEMO_USER, "--password-stdin"],
        env=env,
        input="demo\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert login.returncode == 0, login.stderr
    process = subprocess.Popen(
        [*CLI, "proxy", "--interval", f"{INTERVAL:g}s", "-v"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    out, err = LineReader(process.stdout), LineReader(process.stderr)
    try:
        url = out.wait_for("proxy: ", TIMEOUT).removeprefix("proxy: ")
        out.wait_for("keeping the session alive", TIMEOUT)
        sim.wait_for("ping", 0)
        yield Owner(env, sim, url, process, err, "demo")
    finally:
        code = stop(process)
        subprocess.run([*CLI, "logout"], env=env, capture_output=True, timeout=30, check=False)
        simulator.terminate()
        simulator.wait(timeout=10)
    assert code == 0, err.rest()
    assert out.rest().strip().endswith("stopped")


def test_the_url_is_loopback_with_a_token(owner: Owner) -> None:
    assert owner.url.startswith("http://127.0.0.1:")
    token = owner.url.rsplit("/", 1)[1]
    assert len(token) >= 32


def test_curl_with_no_session_id_gets_ok_and_credit(owner: Owner) -> None:
    ping = curl(f"{owner.url}/http/ping")
    balance = curl("--data", "", f"{owner.url}/http/getbalance")
    assert ping.stdout.startswith("OK: "), ping
    assert balance.stdout == "Credit: 42.50\n", balance


@pytest.mark.parametrize("path", ["", "/http/getbalance", "/not-the-token/http/getbalance"])
def test_a_wrong_or_missing_token_is_403_and_the_simulator_logs_nothing(
    owner: Owner, path: str
) -> None:
    base = owner.url.rsplit("/", 1)[0]
    before = len(owner.sim.records())
    result = curl("--output", "/dev/null", "--write-out", "%{http_code}", base + path)
    assert result.stdout == "403"
    control = curl("--output", "/dev/null", "--write-out", "%{http_code}", f"{owner.url}/sim/stats")
    assert control.stdout == "404", "the simulator's control endpoints are no API path"
    assert owner.sim.not_pings(before) == []


def test_after_expiry_curl_still_works_with_exactly_one_new_auth(owner: Owner) -> None:
    assert curl("--data", "", f"{owner.sim.base_url}/sim/expire").stdout == "OK\n"
    before = len(owner.sim.records())
    answers = [curl(f"{owner.url}/http/getbalance").stdout for _ in range(3)]
    assert answers == ["Credit: 42.50\n"] * 3
    # The first call finds the session gone (unless the owner's own ping found it first).
    assert owner.sim.commands(before).count("auth") == 1
    assert owner.sim.not_pings(before) in (
        ["getbalance", "auth", "getbalance", "getbalance", "getbalance"],
        ["auth", "getbalance", "getbalance", "getbalance"],
    )


def test_a_proxied_call_moves_the_owners_next_ping(owner: Owner) -> None:
    """Called 1.5 s after a ping, the call is the ping: none comes in the interval after it."""
    since = len(owner.sim.records())
    pinged_at = owner.sim.wait_for("ping", since)
    time.sleep(max(0.0, pinged_at + 1.5 - time.monotonic()))
    called = len(owner.sim.records())
    called_at = time.monotonic()
    assert curl("--data", "", f"{owner.url}/http/getbalance").stdout == "Credit: 42.50\n"
    next_ping = owner.sim.wait_for("ping", called)
    # Unmoved, the next ping was due at pinged_at + INTERVAL, 2.5 s after the call.
    assert next_ping - called_at >= INTERVAL - 0.3, owner.sim.records()[since:]


def test_no_secret_in_the_owners_output_or_log(owner: Owner) -> None:
    token = owner.url.rsplit("/", 1)[1]
    curl(f"{owner.url}/http/ping?password=hunter2")
    session_id = curl(f"{owner.url}/http/ping").stdout.split()[1]
    time.sleep(0.2)
    text = "\n".join(owner.err.drain())
    log_files = [p for p in Path(owner.env["HOME"]).rglob("*.log") if p.is_file()]
    text += "\n".join(p.read_text(errors="replace") for p in log_files)
    assert "proxied /http/ping" in text, "the debug log is not where the test looks"
    for secret in (token, session_id, "hunter2"):
        assert secret not in text


def test_a_port_in_use_is_one_line_and_exit_1(owner: Owner) -> None:
    # A runtime directory of its own: beside the running owner a second one is refused first.
    runtime = Path(tempfile.mkdtemp(prefix="cst-run-", dir="/tmp"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*CLI, "proxy", "--port", str(port)],
            env={**owner.env, "XDG_RUNTIME_DIR": str(runtime)},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    shutil.rmtree(runtime, ignore_errors=True)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"clickatell-tray: cannot serve on 127.0.0.1:{port}: Address already in use"
    ]


@pytest.mark.parametrize("port", ["70000", "-1", "http"])
def test_a_bad_port_is_a_usage_error(port: str) -> None:
    result = subprocess.run(
        [*CLI, "proxy", "--port", port], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2
    assert "not a port number" in result.stderr
    assert "Traceback" not in result.stderr


ROOT = Path(__file__).resolve().parent.parent
COLLECTION = ROOT / "tests" / "postman" / "proxy.postman_collection.json"


def newman() -> str:
    """The newman that .ci/run installs into the checkout, or one on PATH; else skip (or fail)."""
    local = ROOT / ".ci" / "node" / "node_modules" / ".bin" / "newman"
    found = str(local) if local.exists() else shutil.which("newman")
    if found is None:
        message = "newman not installed: npm install --prefix .ci/node newman"
        if os.environ.get(REQUIRE_DESKTOP) == "1":
            pytest.fail(f"{message} ({REQUIRE_DESKTOP}=1 forbids skipping)", pytrace=False)
        pytest.skip(message)
    return found


def test_a_postman_collection_run_by_newman_needs_no_session_id(
    owner: Owner, tmp_path: Path
) -> None:
    report = tmp_path / "newman.json"
    before = len(owner.sim.records())
    result = subprocess.run(
        [
            newman(),
            "run",
            str(COLLECTION),
            "--env-var",
            f"proxy={owner.url}",
            "--reporters",
            "cli,json",
            "--reporter-json-export",
            str(report),
            "--disable-unicode",
            "--color",
            "off",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    stats = json.loads(report.read_text())["run"]["stats"]
    assert stats["requests"]["total"] == 6
    assert stats["assertions"] == {"total": 6, "pending": 0, "failed": 0}
    assert "session_id" not in COLLECTION.read_text()
    assert "ping" in owner.sim.commands(before)
    assert owner.sim.not_pings(before) == ["getbalance", "sendmsg", "querymsg", "routeCoverage"]


def test_the_clickatell_library_from_pypi_works_through_the_proxy_with_made_up_credentials(
    owner: Owner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PyPI ``clickatell`` sends user, password and api_id on every call, in the query: the
    proxy drops them and puts the live session in, so even wrong ones work."""
    import clickatell.http as clickatell_http

    for name in ("http_proxy", "HTTP_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    api = clickatell_http.Http("nobody", "not-the-password", "0")
    api.endpoint = owner.url.removeprefix("http://")
    before = len(owner.sim.records())
    balance = api.getBalance()["balance"]
    assert isinstance(balance, float) and balance > 0, "the earlier tests spent a credit or two"
    [sent] = api.sendMessage("27820000001", "Hello through the proxy")
    assert sent["error"] is False and sent["destination"] == "27820000001"
    assert owner.sim.not_pings(before) == ["getbalance", "sendmsg"]
