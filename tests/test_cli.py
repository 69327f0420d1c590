"""The command line as a user runs it: real subprocesses, the real simulator, a real keyring."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from desktop_stack import SecretService
from processes import SimulatorProcess

from tray_app.cli.parser import parse_duration
from tray_app.sim.server import DEMO_API_ID, DEMO_USER, Simulator

CLI = [sys.executable, "-m", "tray_app"]


def run_cli(
    *args: str, env: dict[str, str], stdin: str | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    with Simulator().start() as server:
        yield server


@pytest.fixture
def cli_env(secret_service: SecretService, simulator: Simulator) -> Iterator[dict[str, str]]:
    env = secret_service.env
    env["CLICKATELL_BASE_URL"] = simulator.base_url
    yield env
    run_cli("logout", env=env)


def login(env: dict[str, str], password: str = "demo") -> subprocess.CompletedProcess[str]:
    return run_cli(
        "login",
        "--api-id",
        DEMO_API_ID,
        "--user",
        DEMO_USER,
        "--password-stdin",
        env=env,
        stdin=password + "\n",
    )


@pytest.mark.parametrize(
    ("text", "seconds"), [("15m", 900), ("90s", 90), ("5", 300), ("1h", 3600), ("1.5m", 90)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "ten", "5x", "-1m", "0"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(Exception, match="duration"):
        parse_duration(text)


def test_help_documents_the_exit_codes() -> None:
    result = subprocess.run([*CLI, "--help"], capture_output=True, text=True, check=True)
    for line in ("0  ok", "2  usage", "3  credentials rejected", "4  session gone", "5  network"):
        assert line in result.stdout


def test_usage_error_exits_2_without_traceback() -> None:
    result = subprocess.run([*CLI, "login"], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_login_status_ping_session_id_balance_logout(
    cli_env: dict[str, str], simulator: Simulator
) -> None:
    signed_in = login(cli_env)
    assert signed_in.returncode == 0, signed_in.stderr
    session_id = run_cli("session-id", env=cli_env)
    assert session_id.returncode == 0, session_id.stderr
    stored = session_id.stdout.strip()
    assert stored in simulator.session_ids()
    assert stored not in signed_in.stdout

    status = run_cli("status", env=cli_env)
    assert status.returncode == 0, status.stderr
    assert "active" in status.stdout
    assert f"{stored[:4]}…{stored[-4:]}" in status.stdout
    assert stored not in status.stdout
    assert "expires:    in 1" in status.stdout

    ping = run_cli("ping", env=cli_env)
    assert ping.returncode == 0, ping.stderr
    assert simulator.count("ping", "ok") == 1

    balance = run_cli("balance", env=cli_env)
    assert balance.returncode == 0, balance.stderr
    assert balance.stdout.strip() == "credit: 42.5"

    logout = run_cli("logout", env=cli_env)
    assert logout.returncode == 0, logout.stderr
    after = run_cli("session-id", env=cli_env)
    assert after.returncode == 4
    assert after.stdout == ""
    assert "login" in after.stderr


def test_wrong_password_exits_3_and_stores_nothing(
    cli_env: dict[str, str], simulator: Simulator
) -> None:
    result = login(cli_env, password="wrong")
    assert result.returncode == 3
    assert "ERR 001" in result.stderr
    assert "Traceback" not in result.stderr
    assert simulator.count("auth") == 1
    assert run_cli("session-id", env=cli_env).returncode == 4


def test_expired_session_exits_4(cli_env: dict[str, str], simulator: Simulator) -> None:
    assert login(cli_env).returncode == 0
    simulator.expire_all()
    result = run_cli("ping", env=cli_env)
    assert result.returncode == 4
    assert "ERR 003" in result.stderr
    assert "clickatell-tray login" in result.stderr


def test_dead_network_exits_5(cli_env: dict[str, str], simulator: Simulator) -> None:
    assert login(cli_env).returncode == 0
    simulator.stop()
    result = run_cli("ping", env=cli_env)
    assert result.returncode == 5
    assert "cannot reach the server" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_garbled_answer_exits_5(cli_env: dict[str, str], simulator: Simulator) -> None:
    assert login(cli_env).returncode == 0
    simulator.force_next_fault("garbage")
    result = run_cli("ping", env=cli_env)
    assert result.returncode == 5
    assert "Traceback" not in result.stderr


def test_plain_http_to_a_remote_host_is_a_usage_error(secret_service: SecretService) -> None:
    result = run_cli("ping", "--base-url", "http://api.clickatell.com", env=secret_service.env)
    assert result.returncode == 2
    assert "https" in result.stderr


def test_password_is_never_taken_from_the_command_line() -> None:
    result = subprocess.run(
        [*CLI, "login", "--api-id", "1", "--user", "u", "--password", "p"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2


def test_simulate_prints_its_url_then_one_json_line_per_request() -> None:
    server = SimulatorProcess("--lifetime", "90s")
    assert server.base_url.startswith("http://127.0.0.1:")
    import requests

    session = requests.post(
        f"{server.base_url}/http/auth",
        data={"api_id": DEMO_API_ID, "user": "demo", "password": "demo"},
        timeout=5,
    ).text
    assert session.startswith("OK: ")
    requests.post(f"{server.base_url}/http/ping", data={"session_id": "nope"}, timeout=5)
    code, records = server.stop()
    assert code == 0
    assert records == [
        {"command": "auth", "outcome": "ok"},
        {"command": "ping", "outcome": "ERR 003"},
    ]


def test_curl_against_simulate_signs_in_and_pings() -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    server = SimulatorProcess()
    auth = subprocess.run(
        [
            "curl",
            "-s",
            "--data",
            "api_id=1000001&user=demo&password=demo",
            f"{server.base_url}/http/auth",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert auth.startswith("OK: ")
    session_id = auth.split()[1]
    ping = subprocess.run(
        ["curl", "-s", "--data", f"session_id={session_id}", f"{server.base_url}/http/ping"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert ping.startswith("OK")
    assert server.stop()[0] == 0


@pytest.mark.slow
def test_keepalive_black_box_with_a_simulator_restart(secret_service: SecretService) -> None:
    """simulate --lifetime 6s + keepalive --interval 3s: one auth, regular pings, no 003;
    a restarted simulator (all sessions lost) makes the keeper sign in again once."""
    server = SimulatorProcess("--lifetime", "6s")
    port = int(server.base_url.rsplit(":", 1)[1])
    env = {**secret_service.env, "CLICKATELL_BASE_URL": server.base_url}
    assert login(env).returncode == 0
    keeper = subprocess.Popen(
        [*CLI, "keepalive", "--interval", "3s"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(20)
        _code, first_run = server.stop()
        server = SimulatorProcess("--lifetime", "6s", port=port)
        time.sleep(12)
    finally:
        _code, second_run = server.stop()
        keeper.send_signal(signal.SIGTERM)
        out, err = keeper.communicate(timeout=15)
        run_cli("logout", env=env)
    assert keeper.returncode == 0, err
    assert "Traceback" not in err
    assert first_run[0] == {"command": "auth", "outcome": "ok"}, first_run
    first_pings = [r for r in first_run if r["command"] == "ping"]
    assert [r for r in first_run if r["command"] == "auth"] == [first_run[0]]
    assert all(r["outcome"] == "ok" for r in first_pings), first_run
    assert 5 <= len(first_pings) <= 8, first_run
    assert [r["outcome"] for r in second_run if r["command"] == "auth"] == ["ok"], second_run
    assert second_run[0] == {"command": "ping", "outcome": "ERR 003"}, second_run
    assert "Session renewed with a new ID" in out
    assert out.strip().endswith("stopped")


def test_module_runs_as_python_m() -> None:
    result = subprocess.run([*CLI, "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.startswith("clickatell-tray ")


@pytest.mark.parametrize(
    ("interval", "base_url", "words"),
    [
        ("30s", "https://api.clickatell.com", "only allowed against a loopback server"),
        ("15m", "http://127.0.0.1:9", "under the 15-minute session lifetime"),
    ],
)
def test_keepalive_refuses_intervals_that_would_harm(
    interval: str, base_url: str, words: str, tmp_path: Path
) -> None:
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    result = subprocess.run(
        [*CLI, "keepalive", "--interval", interval, "--base-url", base_url],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert words in result.stderr
