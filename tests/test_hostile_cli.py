"""The command line given hostile input and a hostile server: one clear line, the documented exit
code, never a traceback, never an escape sequence on the terminal.

Real subprocesses; the keyring is the real Secret Service on a private bus, or, for "no usable
keyring", Python's null backend.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import pytest
from desktop_stack import SecretService
from hostile_server import HostileServer, Reply, ok, wait_for_requests

from tray_app.services.credentials import Credentials, CredentialStore
from tray_app.sim.server import DEMO_API_ID, DEMO_USER, Simulator

CLI = [sys.executable, "-m", "tray_app"]
SID = "f6b9af2a2c9e5b18ee2d257e3def5d66"


def run(
    *args: str,
    env: dict[str, str],
    stdin: bytes | int | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[bytes]:
    """The CLI with bytes in and out, so that nothing is decoded on the way."""
    return subprocess.run(
        [*CLI, *args],
        env=env,
        stdin=stdin if isinstance(stdin, int) else None,
        input=stdin if isinstance(stdin, bytes) else None,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


def one_clear_line(result: subprocess.CompletedProcess[bytes], code: int) -> str:
    err = result.stderr.decode("utf-8", errors="replace")
    assert result.returncode == code, err
    assert "Traceback" not in err
    # Warnings logged on the way (the CLI logs them to stderr) may come first; the error is the
    # one line of its own at the end.
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("clickatell-tray: "), lines
    assert sum(line.startswith("clickatell-tray: ") for line in lines) == 1, lines
    return lines[-1]


@pytest.fixture
def env(secret_service: SecretService) -> Iterator[dict[str, str]]:
    environment = secret_service.env
    yield environment
    run("logout", env=environment)


def test_login_with_standard_input_closed_is_a_usage_error(env: dict[str, str]) -> None:
    # Closed for real: the child gets no file descriptor 0 at all.
    result = subprocess.run(
        [*CLI, "login", "--api-id", "1", "--user", "u", "--password-stdin"],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
        preexec_fn=lambda: os.close(0),
    )
    assert "standard input is closed" in one_clear_line(result, 2)


@pytest.mark.parametrize("where", ["password", "user"])
def test_credentials_that_are_not_utf8_are_a_usage_error(env: dict[str, str], where: str) -> None:
    user = b"al\xffce" if where == "user" else b"alice"
    password = b"pa\xff\xfess\n" if where == "password" else b"secret\n"
    result = subprocess.run(
        [*CLI, "login", "--api-id", "1", "--user", os.fsdecode(user), "--password-stdin"],
        env={**env, "CLICKATELL_BASE_URL": "http://127.0.0.1:9"},
        input=password,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert "not valid UTF-8" in one_clear_line(result, 2)


@pytest.mark.parametrize(
    "url", ["https://a..b", f"https://{'a' * 300}.example", "https://./x"], ids=["a..b", "300", "."]
)
def test_a_base_url_with_a_bad_host_is_a_usage_error(env: dict[str, str], url: str) -> None:
    result = run("ping", "--base-url", url, env=env)
    assert "host name is not valid" in one_clear_line(result, 2)


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_simulate_refuses_a_port_out_of_range(port: str) -> None:
    result = run("simulate", "--port", port, env=dict(os.environ))
    assert result.returncode == 2
    assert b"Traceback" not in result.stderr
    assert b"not a port number" in result.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_simulate_keeps_serving_when_its_stdout_goes_away() -> None:
    """A pipe whose reader left: one line on stderr, every request still answered."""
    import requests

    port = free_port()
    read_end, write_end = os.pipe()
    os.close(read_end)
    server = subprocess.Popen(
        [*CLI, "simulate", "--port", str(port)],
        stdout=write_end,
        stderr=subprocess.PIPE,
    )
    os.close(write_end)
    try:
        answers = []
        deadline = time.monotonic() + 30
        while not answers and time.monotonic() < deadline:
            try:
                answers.append(requests.post(f"http://127.0.0.1:{port}/http/ping", timeout=5))
            except requests.ConnectionError:
                time.sleep(0.1)
        answers += [requests.post(f"http://127.0.0.1:{port}/http/ping", timeout=5) for _ in "ab"]
        assert [answer.status_code for answer in answers] == [200, 200, 200]
    finally:
        server.send_signal(signal.SIGTERM)
        _out, err = server.communicate(timeout=15)
    assert server.returncode == 0
    text = err.decode()
    assert "Traceback" not in text and "Exception" not in text, text
    assert text.count("standard output is closed") == 1


@pytest.mark.parametrize("command", ["ping", "session-id", "balance"])
def test_without_a_usable_keyring_the_session_commands_exit_1(command: str) -> None:
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    result = run(command, "--base-url", "http://127.0.0.1:9", env=env)
    assert "keyring" in one_clear_line(result, 1).lower()


def test_a_hostile_error_line_reaches_the_terminal_without_its_escapes(
    env: dict[str, str], keyring_env: SecretService
) -> None:
    CredentialStore().save_session_id(SID)
    text = "ERR: 114, \x1b]0;owned\x07\x1b[2J\x9b31m Cannot route \r\n" + "x" * 60_000
    with HostileServer(ok(text)) as server:
        result = run("ping", "--base-url", server.base_url, env=env)
    line = one_clear_line(result, 1)
    assert "Cannot route" in line
    raw = result.stderr
    assert b"\x1b" not in raw and b"\x07" not in raw and "\x9b".encode() not in raw
    assert len(raw) < 400


def test_keepalive_with_nothing_stored_exits_4(env: dict[str, str]) -> None:
    with Simulator() as simulator:
        result = run("keepalive", "--interval", "3s", "--base-url", simulator.base_url, env=env)
    assert "nothing stored" in one_clear_line(result, 4)


def test_keepalive_after_a_rejection_exits_3(
    env: dict[str, str], keyring_env: SecretService
) -> None:
    CredentialStore().save(Credentials(DEMO_API_ID, DEMO_USER, "not-the-password"))
    with Simulator() as simulator:
        result = run("keepalive", "--interval", "3s", "--base-url", simulator.base_url, env=env)
    assert "credentials rejected" in one_clear_line(result, 3)


def test_logout_then_quit_while_the_owners_ping_hangs_clears_the_keyring(
    secret_service: SecretService, keyring_env: SecretService
) -> None:
    """A real keepalive owner whose ping hangs: logout is answered at once (the clear does not
    wait behind the ping), SIGTERM ends it cleanly, and the keyring is empty afterwards."""
    runtime = tempfile.mkdtemp(prefix="cst-h-", dir="/tmp")  # short: the socket path must fit
    env = {**secret_service.env, "XDG_RUNTIME_DIR": runtime, "QT_QPA_PLATFORM": "offscreen"}
    CredentialStore().save(Credentials(DEMO_API_ID, DEMO_USER, "hunter2-hostile"))
    CredentialStore().save_session_id(SID)
    try:
        with HostileServer(Reply(hang=True)) as server:
            owner = subprocess.Popen(
                [*CLI, "keepalive", "--base-url", server.base_url],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            try:
                wait_for_requests(server, 1, timeout=30)
                assert len(server.requests) == 1, "the owner's ping never arrived"
                forgotten = run("logout", env=env, timeout=15)
                assert forgotten.returncode == 0, forgotten.stderr
                owner.send_signal(signal.SIGTERM)
                _out, err = owner.communicate(timeout=30)
            finally:
                if owner.poll() is None:
                    owner.kill()
                    owner.wait()
        assert owner.returncode == 0, err
        assert b"Traceback" not in err
        fresh = CredentialStore()
        assert fresh.load() is None
        assert fresh.load_session_id() is None
        assert fresh.persistent
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
