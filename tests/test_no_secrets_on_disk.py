"""After real runs at debug level, no password or session ID is left in plain text on disk.

Two black-box runs, each in a throw-away HOME with every XDG folder, XDG_RUNTIME_DIR and TMPDIR
inside it, and then a byte search of every regular file there (UTF-8 and UTF-16-LE):

* The command line against a real Secret Service (gnome-keyring on a private bus): ``login``
  and ``keepalive --interval 2s -v`` against a simulator that knows one account with an
  unmistakable password. The test expires the sessions mid-run, so a second session ID is
  issued and stored. The simulator runs in this process, so the test knows every ID it issued.
  The search covers the QSettings file, the log file and gnome-keyring's own keyring file,
  which holds the secrets encrypted and so must not show them either.
* ``--demo -v`` offscreen. Its password is "demo", too common a word to search for, and its
  IDs are not visible from outside, so the check there is that no 32-hex string (the shape of
  a session ID, and nothing else the app writes has it) appears in any file. The demo pings
  every 10 minutes and nothing outside the process can make it ping sooner (``/sim/expire``
  only takes effect at the next ping), so this run covers one sign-in; the renewal path is
  covered by the command-line run above.

Positive controls keep the search honest: the keyring still holds the newest ID
(``session-id`` prints it) and its file shrinks once ``logout`` deletes the entry, so the
searched file did hold it; the log file exists and names the sessions masked; and the searched
list includes the keyring and log files (``-rP`` prints the list).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pytest
from desktop_stack import SecretService
from processes import running_demo, stop, wait_until
from test_install import sandbox_env

from tray_app.core.redact import mask_id
from tray_app.sim.server import Account, Simulator

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "tray_app"]
API_ID = "3001"
USER = "alice"
PASSWORD = "S3cr3t-Pa55-xyz"
LOG_FILE = Path("clickatell-session-tray", "log", "clickatell-tray.log")
_HEX32 = re.compile(rb"(?<![0-9A-Fa-f])[0-9A-Fa-f]{32}(?![0-9A-Fa-f])")
_MASKED = re.compile(r"[0-9a-f]{4}…[0-9a-f]{4}")


def files_under(roots: Iterable[Path]) -> list[Path]:
    """Every regular file below the roots (sockets, FIFOs and symlinks are not files to read)."""
    found: set[Path] = set()
    for root in roots:
        found.update(path for path in root.rglob("*") if path.is_file() and not path.is_symlink())
    return sorted(found)


def encodings(secret: str) -> tuple[bytes, ...]:
    """The byte forms a secret could take in a file: UTF-8 and Qt's UTF-16."""
    return secret.encode(), secret.encode("utf-16-le")


def leaks(files: Iterable[Path], secrets: Mapping[str, str]) -> list[str]:
    """``path: label`` for each file whose name or bytes hold one of the secrets."""
    found = []
    for path in files:
        data = path.read_bytes()
        for label, secret in secrets.items():
            if secret in str(path) or any(form in data for form in encodings(secret)):
                found.append(f"{path}: {label}")
    return found


def hex_ids(files: Iterable[Path]) -> list[str]:
    """``path: match`` for each 32-hex string in a file's name or bytes (UTF-8 or UTF-16)."""
    found = []
    for path in files:
        data = path.read_bytes()
        texts = (str(path).encode(), data, data.replace(b"\x00", b""))
        for match in sorted({m for text in texts for m in _HEX32.findall(text)}):
            found.append(f"{path}: {match.decode()}")
    return found


@pytest.fixture
def alice_simulator() -> Iterator[Simulator]:
    with Simulator(accounts=[Account(API_ID, USER, PASSWORD)]).start() as simulator:
        yield simulator


@pytest.fixture
def keyring_cli_env(
    secret_service: SecretService, alice_simulator: Simulator, tmp_path: Path
) -> Iterator[dict[str, str]]:
    """The Secret Service's environment, this test's simulator and a TMPDIR inside its root."""
    tmp = secret_service.home.parent / "tmp"
    tmp.mkdir(exist_ok=True)
    env = secret_service.env
    env.update(
        CLICKATELL_BASE_URL=alice_simulator.base_url,
        TMPDIR=str(tmp),
        QT_QPA_PLATFORM="offscreen",
    )
    yield env
    subprocess.run(
        [*CLI, "logout"], env=env, cwd=tmp_path, capture_output=True, timeout=60, check=False
    )


def test_cli_with_keyring_leaves_no_password_or_session_id_on_disk(
    keyring_cli_env: dict[str, str],
    secret_service: SecretService,
    alice_simulator: Simulator,
    tmp_path: Path,
) -> None:
    env, simulator = keyring_cli_env, alice_simulator
    login = subprocess.run(
        [*CLI, "login", "--api-id", API_ID, "--user", USER, "--password-stdin", "-v"],
        env=env,
        cwd=tmp_path,
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert login.returncode == 0, login.stderr

    console = tmp_path / "keepalive.out"
    with console.open("w") as output:
        keepalive = subprocess.Popen(
            [*CLI, "keepalive", "--interval", "2s", "-v"],
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        wait_until("two pings", lambda: simulator.count("ping", "ok") >= 2)
        issued = set(simulator.session_ids())
        simulator.expire_all()
        wait_until("a second sign-in", lambda: simulator.count("auth", "ok") >= 2)
        pings = simulator.count("ping", "ok")
        wait_until("a ping with the new session", lambda: simulator.count("ping", "ok") > pings)
        issued |= set(simulator.session_ids())
    finally:
        code = stop(keepalive)
    output_text = console.read_text()
    assert code == 0, output_text
    assert "Traceback" not in output_text, output_text
    assert len(issued) == simulator.count("auth", "ok") == 2, issued

    # The keyring really holds the newest ID, so finding nothing below means it is encrypted.
    (newest,) = simulator.session_ids()
    stored = subprocess.run(
        [*CLI, "session-id"], env=env, cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert stored.stdout.strip() == newest, stored.stderr

    roots = [secret_service.home, Path(env["XDG_RUNTIME_DIR"]), Path(env["TMPDIR"])]
    files = files_under(roots)
    print("searched:", *files, sep="\n  ")
    log_file = Path(env["XDG_STATE_HOME"]) / LOG_FILE
    assert log_file in files
    keyrings = {path: path.stat().st_size for path in files if path.suffix == ".keyring"}
    assert keyrings, "gnome-keyring wrote no keyring file"
    log_text = log_file.read_text(encoding="utf-8")
    assert mask_id(newest) in log_text

    secrets = {"password": PASSWORD} | {f"session ID {mask_id(i)}": i for i in sorted(issued)}
    assert leaks(files, secrets) == []
    # What a user might redirect to a file: the terminal output of every command run here.
    terminal = {"login": login.stdout + login.stderr, "keepalive": output_text}
    for name, text in terminal.items():
        assert not [label for label, secret in secrets.items() if secret in text], name

    # The entry searched above was in a keyring file: forgetting it makes that file shrink.
    logout = subprocess.run(
        [*CLI, "logout"], env=env, cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert logout.returncode == 0, logout.stderr
    assert any(path.stat().st_size < size for path, size in keyrings.items()), keyrings


def test_demo_at_debug_level_writes_no_session_id(tmp_path: Path) -> None:
    env = sandbox_env(tmp_path)
    with running_demo([*CLI, "-v"], env, tmp_path) as demo:

        def stats() -> dict[str, dict[str, int]]:
            with urllib.request.urlopen(f"{demo.base_url}/sim/stats", timeout=5) as answer:
                return json.load(answer)

        wait_until("the demo's sign-in", lambda: stats().get("auth", {}).get("ok", 0) >= 1)
        time.sleep(2)  # let the first answers be logged and any follow-up request go out
        final = stats()
    output = demo.out.rest() + demo.err.rest()

    files = files_under([tmp_path / "home", tmp_path / "run", tmp_path / "tmp"])
    print("simulator stats:", final)
    print("searched:", *files, sep="\n  ")
    log_file = tmp_path / "home" / ".local" / "state" / LOG_FILE
    assert log_file in files
    assert _MASKED.search(log_file.read_text(encoding="utf-8")), "the log names no session"
    assert hex_ids(files) == []
    assert not _HEX32.findall(output.encode())
