"""The command line with an owner running: real owner processes, the real simulator, a real
keyring on a private bus, and the CLI as a subprocess, as a person in a terminal meets them.

The owners: the tray (offscreen, ``--hidden``, the throw-away keyring), ``keepalive``, and the
demo tray (``--demo``, its own simulator and memory). Each test has a runtime directory of its
own, so its owner is the only one its commands can find.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from desktop_stack import SecretService
from processes import LineReader, running_demo, stop, wait_until
from test_cli import CLI, login, run_cli

from tray_app.core.copy_formats import masked_proxy_url
from tray_app.core.redact import mask_id
from tray_app.services.control_client import ask, find_owner
from tray_app.sim.server import Simulator

pytestmark = pytest.mark.slow


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    with Simulator().start() as server:
        yield server


@pytest.fixture
def env(
    secret_service: SecretService, simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """The CLI's environment; this test process shares the runtime dir to ask the owner too."""
    runtime = tempfile.mkdtemp(prefix="cst-cli-", dir="/tmp")
    monkeypatch.setenv("XDG_RUNTIME_DIR", runtime)
    env = {
        **secret_service.env,
        "XDG_RUNTIME_DIR": runtime,
        "CLICKATELL_BASE_URL": simulator.base_url,
        "QT_QPA_PLATFORM": "offscreen",
    }
    yield env
    run_cli("logout", env=env)
    shutil.rmtree(runtime, ignore_errors=True)


def owner_status(demo: bool = False) -> dict[str, Any]:
    """The owner's own truth, asked over its socket by this test process."""
    owner = find_owner(demo=demo)
    assert owner is not None
    answer = ask(owner, "status", timeout=10)
    assert answer["ok"], answer
    return answer


OWNER_COMMANDS = {"tray": ["--hidden"], "keepalive": ["keepalive"]}


@contextmanager
def owner_process(env: dict[str, str], kind: str) -> Iterator[subprocess.Popen[str]]:
    """An owner process of this kind, once it answers as active; stopped as a session manager
    would (SIGTERM), and it must leave with 0 and no traceback."""
    process = subprocess.Popen(
        [*CLI, *OWNER_COMMANDS[kind]],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    err = LineReader(process.stderr)
    try:
        wait_until("the owner answers", _active_owner, timeout=30)
        yield process
    finally:
        code = stop(process) if process.poll() is None else process.returncode
    stderr = err.rest()
    assert code == 0, stderr
    assert "Traceback" not in stderr, stderr


@pytest.fixture(params=sorted(OWNER_COMMANDS))
def owner(request: pytest.FixtureRequest, env: dict[str, str]) -> Iterator[str]:
    """A signed-in owner process of each kind; yields its kind."""
    assert login(env).returncode == 0
    with owner_process(env, request.param):
        yield request.param


def _active_owner() -> bool:
    try:
        return find_owner() is not None and owner_status()["state"] == "active"
    except Exception:
        return False


def epoch_of(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def left_in_text(status_text: str) -> int:
    match = re.search(r"^expires:    in (\d\d):(\d\d)$", status_text, re.MULTILINE)
    assert match, status_text
    return int(match.group(1)) * 60 + int(match.group(2))


def check_status_agrees(env: dict[str, str], simulator: Simulator) -> float:
    """``status`` and ``status --json`` against the owner's expiry and the server's, within 1 s."""
    expires_at = owner_status()["expires_at"]
    before = time.time()
    text = run_cli("status", env=env)
    as_json = run_cli("status", "--json", env=env)
    after = time.time()
    assert text.returncode == 0 and as_json.returncode == 0, text.stderr + as_json.stderr
    shown = json.loads(as_json.stdout)
    assert abs(epoch_of(shown["expires_at"]) - expires_at) <= 1
    assert expires_at - after - 1 <= left_in_text(text.stdout) <= expires_at - before + 1
    assert expires_at - after - 1 <= shown["expires_in"] <= expires_at - before + 1
    (session,) = simulator.model.sessions()
    assert abs(time.time() + session.expires_in - expires_at) <= 1, "the server disagrees"
    return float(expires_at)


def test_status_and_status_json_agree_with_the_owner_before_and_after_a_ping(
    owner: str, env: dict[str, str], simulator: Simulator
) -> None:
    first = check_status_agrees(env, simulator)
    shown = json.loads(run_cli("status", "--json", env=env).stdout)
    assert shown["state"] == "active"
    assert shown["owner"]["kind"] == owner
    assert shown["account"] == {"api_id": "1000001", "user": "demo"}
    assert shown["base_url"] == simulator.base_url
    assert shown["proxy_url"] is None
    assert abs(epoch_of(shown["next_ping_at"]) - owner_status()["next_ping_at"]) <= 1
    assert "password" not in as_json_text(shown)
    pings = simulator.count("ping", "ok")
    time.sleep(1.1)  # so that the ping's new expiry is visibly later than the first one
    pinged = run_cli("ping", env=env)
    assert pinged.returncode == 0, pinged.stderr
    assert simulator.count("ping", "ok") == pings + 1
    second = check_status_agrees(env, simulator)
    assert second >= first + 1


def test_after_the_owner_is_gone_status_shows_the_expiry_of_its_last_ping(
    env: dict[str, str], simulator: Simulator
) -> None:
    """The owner records each ping's expiry in the state file (not in the keyring, which a
    ping no longer touches); ``status`` with no owner reads it there."""
    assert login(env).returncode == 0
    with owner_process(env, "keepalive"):
        first = owner_status()["expires_at"]
        time.sleep(1.1)  # so that the ping's new expiry is visibly later than the first one
        assert run_cli("ping", env=env).returncode == 0
        last = owner_status()["expires_at"]
    assert last >= first + 1
    shown = json.loads(run_cli("status", "--json", env=env).stdout)
    assert (shown["owner"], shown["state"]) == (None, "active")
    assert abs(epoch_of(shown["expires_at"]) - last) <= 1
    entry = subprocess.run(
        ["secret-tool", "lookup", "service", "clickatell-session-tray", "username", "session"],
        env=env,
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    assert "expires_at" not in json.loads(entry.stdout), "the expiry went to the keyring"


def as_json_text(shown: dict[str, Any]) -> str:
    return json.dumps(shown)


def test_login_while_an_owner_runs_hands_it_the_credentials_one_session_not_two(
    owner: str, env: dict[str, str], simulator: Simulator
) -> None:
    old_id = run_cli("session-id", env=env).stdout.strip()
    auths = simulator.count("auth")
    signed_in = login(env)
    assert signed_in.returncode == 0, signed_in.stderr
    assert f"kept alive by the {owner} (pid " in signed_in.stdout
    assert simulator.count("auth") == auths + 1, "the owner's sign-in is the only one"
    newest = simulator.model.sessions()[0].session_id
    assert newest != old_id
    assert owner_status()["session_id"] == mask_id(newest)
    printed = run_cli("session-id", env=env)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.strip() == newest
    assert newest not in signed_in.stdout


def test_a_rejected_login_is_answered_by_the_tray_and_by_keepalive_before_it_stops(
    env: dict[str, str], simulator: Simulator
) -> None:
    """The tray stays up, red; keepalive stops with 3 (nothing left to keep), but only after
    the command that caused it has its answer."""
    assert login(env).returncode == 0
    with owner_process(env, "tray"):
        auths = simulator.count("auth")
        rejected = login(env, password="wrong")
        assert rejected.returncode == 3, rejected.stderr
        assert "ERR 001" in rejected.stderr
        assert len(rejected.stderr.strip().splitlines()) == 1
        assert simulator.count("auth") == auths + 1
        assert owner_status()["state"] == "failed"
    assert login(env).returncode == 0
    keepalive = subprocess.Popen(
        [*CLI, "keepalive"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until("keepalive answers", _active_owner, timeout=30)
        rejected = login(env, password="wrong")
        assert rejected.returncode == 3, rejected.stderr
        assert "ERR 001" in rejected.stderr
        assert keepalive.wait(timeout=30) == 3
    finally:
        if keepalive.poll() is None:
            stop(keepalive)
        keepalive.communicate(timeout=10)


def test_after_an_expiry_a_ping_renews_and_session_id_follows_check_says_live_or_dead(
    env: dict[str, str], simulator: Simulator
) -> None:
    assert login(env).returncode == 0
    with owner_process(env, "tray"):
        old_id = run_cli("session-id", env=env).stdout.strip()
        expired = requests.post(f"{simulator.base_url}/sim/expire", timeout=5)
        assert expired.status_code == 200
        pinged = run_cli("ping", env=env)
        assert pinged.returncode == 0, pinged.stderr
        assert "signed in again: the ID changed" in pinged.stdout
        new_id = run_cli("session-id", env=env).stdout.strip()
        assert new_id != old_id
        assert simulator.session_ids() == [new_id]
        live = run_cli("session-id", "--check", env=env)
        assert (live.returncode, live.stdout.strip()) == (0, new_id)
        signed_out = run_cli("logout", env=env)
        assert signed_out.returncode == 0, signed_out.stderr
        dead = run_cli("session-id", "--check", env=env)
        assert dead.returncode == 4
        assert dead.stdout == ""
        assert len(dead.stderr.strip().splitlines()) == 1
        assert owner_status()["state"] == "signed out"


def test_exec_runs_a_command_with_the_live_session_in_its_environment_only(
    owner: str, env: dict[str, str]
) -> None:
    live_id = run_cli("session-id", env=env).stdout.strip()
    shown = run_cli("exec", "--", "sh", "-c", 'echo "$CLICKATELL_SESSION_ID"', env=env)
    assert (shown.returncode, shown.stdout.strip()) == (0, live_id)
    script = (
        'echo "$CLICKATELL_SESSION_EXPIRES $CLICKATELL_BASE_URL"; tr "\\0" " " < /proc/$$/cmdline'
    )
    details = run_cli("exec", "sh", "-c", script, env=env)
    expires, base_url, *cmdline = details.stdout.split()
    assert abs(epoch_of(expires) - owner_status()["expires_at"]) <= 1
    assert base_url == env["CLICKATELL_BASE_URL"]
    assert live_id not in " ".join(cmdline)
    assert run_cli("exec", "--", "sh", "-c", "exit 7", env=env).returncode == 7
    missing = run_cli("exec", "--", "no-such-command-cst", env=env)
    assert missing.returncode == 127
    assert missing.stderr.strip().splitlines() == [
        "clickatell-tray: cannot run no-such-command-cst: No such file or directory"
    ]


NO_QT_PROBE = """
import sys
from tray_app.cli.main import main
codes = [main([op]) for op in ("status", "session-id", "ping")]
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"PySide6", "requests", "keyring"})
print(codes, heavy)
"""


def test_the_client_side_needs_no_qt_no_requests_and_no_keyring(
    owner: str, env: dict[str, str]
) -> None:
    """With an owner running, the commands are a plain socket client of it."""
    probe = subprocess.run(
        [sys.executable, "-c", NO_QT_PROBE],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip().splitlines()[-1] == "[0, 0, 0] []"


def test_without_an_owner_check_pings_and_exec_refuses_a_dead_session(
    env: dict[str, str], simulator: Simulator
) -> None:
    assert login(env).returncode == 0
    live = run_cli("session-id", "--check", env=env)
    assert live.returncode == 0, live.stderr
    assert simulator.count("ping", "ok") == 1
    simulator.expire_all()
    dead = run_cli("session-id", "--check", env=env)
    assert dead.returncode == 4
    assert "gone" in dead.stderr
    refused = run_cli("exec", "--", "sh", "-c", "echo ran", env=env)
    assert refused.returncode == 4
    assert "ran" not in refused.stdout
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "was not run" in refused.stderr
    status = json.loads(run_cli("status", "--json", env=env).stdout)
    assert (status["owner"], status["state"], status["session_id"]) == (None, "no session", None)


def test_the_demo_is_reached_with_demo_and_only_with_it(
    env: dict[str, str], tmp_path: Path
) -> None:
    with running_demo(CLI, env, tmp_path) as demo:
        wait_until("the demo signs in", lambda: owner_status(demo=True)["state"] == "active")
        shown = run_cli("status", "--json", "--demo", env=env)
        assert shown.returncode == 0, shown.stderr
        status = json.loads(shown.stdout)
        assert status["base_url"] == demo.base_url
        assert status["owner"]["kind"] == "demo tray"
        assert status["proxy_url"] is not None
        assert status["proxy_url"] == owner_status(demo=True)["proxy_url"]
        before = run_cli("--demo", "status", "--json", env=env)
        assert json.loads(before.stdout)["owner"] == status["owner"], "--demo before the command"
        ran = run_cli("exec", "--demo", "--", "sh", "-c", 'echo "$CLICKATELL_BASE_URL"', env=env)
        proxy_url = ran.stdout.strip()
        assert proxy_url != demo.base_url
        assert masked_proxy_url(proxy_url) == status["proxy_url"]
        assert json.loads(run_cli("status", "--json", env=env).stdout)["owner"] is None
    assert run_cli("status", "--demo", env=env).returncode == 4


def test_keepalive_refuses_to_be_a_second_owner(env: dict[str, str]) -> None:
    assert login(env).returncode == 0
    with owner_process(env, "tray") as tray:
        second = run_cli("keepalive", env=env)
        assert second.returncode == 1
        assert "another process already keeps the session alive" in second.stderr
        assert owner_status()["owner"]["pid"] == tray.pid
