"""The owner's lock and control socket: claiming, one JSON line each way, limits, lost sockets.

Every test has a private runtime directory of its own. The cases with other users on the
machine are in ``test_control_users.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from processes import LineReader
from pytestqt.qtbot import QtBot

from tray_app.core import control
from tray_app.core.control import ControlRequest
from tray_app.qt.control import ControlServer, Reply
from tray_app.services import control_client
from tray_app.services.control_client import Owner, OwnerUnreachable, ask, find_owner
from tray_app.services.owner_files import DIR_NAME

CLI = [sys.executable, "-m", "tray_app"]


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private XDG_RUNTIME_DIR for this test, short enough for socket paths."""
    path = Path(tempfile.mkdtemp(prefix="cst-run-", dir="/tmp"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(path))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def echo(request: ControlRequest, reply: Reply) -> None:
    reply.send(control.ok(op=request.op, profile=request.profile))


@pytest.fixture
def server(runtime: Path) -> Iterator[ControlServer]:
    claimed = ControlServer()
    assert claimed.claim()
    claimed.serve(echo)
    yield claimed
    claimed.close()


def ask_in_thread(qtbot: QtBot, op: str, fields: dict[str, str] | None = None) -> dict[str, object]:
    """The plain client blocks, so it runs on a thread while this one runs the event loop."""
    import threading

    found: list[object] = []

    def run() -> None:
        owner = find_owner()
        assert owner is not None
        try:
            found.append(ask(owner, op, fields, timeout=10))
        except Exception as exc:
            found.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    qtbot.waitUntil(lambda: bool(found), timeout=15000)
    (result,) = found
    if isinstance(result, Exception):
        raise result
    assert isinstance(result, dict)
    return result


def raw_exchange(qtbot: QtBot, path: str, data: bytes, *, close: bool = False) -> bytes:
    """Write ``data`` as a foreign client would and read whatever comes back until EOF."""
    import threading

    got: list[bytes] = []

    def run() -> None:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(10)
            sock.connect(path)
            sock.sendall(data)
            if close:
                sock.shutdown(socket.SHUT_WR)
            chunks = b""
            try:
                while chunk := sock.recv(65536):
                    chunks += chunk
            except ConnectionResetError:
                pass  # an abort() from the other end: what came before it still counts
            got.append(chunks)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    qtbot.waitUntil(lambda: bool(got), timeout=15000)
    return got[0]


def test_the_owner_lives_in_a_private_directory_with_a_lock_and_a_user_only_socket(
    server: ControlServer, runtime: Path
) -> None:
    directory = runtime / DIR_NAME
    info = directory.lstat()
    assert stat.S_ISDIR(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o700
    assert server.path == str(directory / "owner.sock")
    assert stat.S_ISSOCK(os.stat(server.path).st_mode)
    assert os.stat(server.path).st_mode & 0o077 == 0
    assert (directory / "owner.lock").read_text().strip() == str(os.getpid())


def test_a_second_claim_fails_while_the_lock_is_held_and_the_client_finds_the_owner(
    server: ControlServer,
) -> None:
    assert not ControlServer().claim()
    assert find_owner() == Owner(str(server.path), os.getpid())
    assert find_owner(demo=True) is None
    demo = ControlServer(demo=True)
    assert demo.claim(), "the demo is an owner of its own"
    demo.close()


def test_a_request_is_answered_with_one_json_line(server: ControlServer, qtbot: QtBot) -> None:
    assert ask_in_thread(qtbot, "status") == {"ok": True, "op": "status", "profile": "default"}


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"status\n", "not a JSON line"),
        (b'{"op": "reboot", "profile": "default"}\n', "op must be one of"),
        (b'{"op": "status", "profile": "work"}\n', "profile must be one of"),
        (b'{"op": "status", "profile": "default", "x": "1"}\n', "status takes no other fields"),
        (b'{"op": "login", "profile": "default", "api_id": "1"}\n', "login takes api_id"),
        (b"[1, 2]\n", "not a JSON object"),
        (b"\xff\xfe\n", "not a JSON line"),
        (b"x" * (control.MAX_REQUEST_BYTES + 10), "at most"),
    ],
    ids=[
        "bare-word",
        "unknown-op",
        "unknown-profile",
        "extra-field",
        "login-short",
        "array",
        "binary",
        "flood",
    ],
)
def test_a_bad_request_gets_a_bad_request_answer_and_the_server_keeps_serving(
    server: ControlServer, qtbot: QtBot, data: bytes, reason: str
) -> None:
    assert server.path is not None
    answer = json.loads(raw_exchange(qtbot, server.path, data))
    assert answer["ok"] is False
    assert answer["category"] == control.BAD_REQUEST
    assert reason in answer["error"]
    assert ask_in_thread(qtbot, "ping")["op"] == "ping"


def test_an_answer_over_the_size_cap_becomes_a_refusal_not_half_a_line(
    runtime: Path, qtbot: QtBot
) -> None:
    huge = ControlServer()
    assert huge.claim()
    huge.serve(lambda request, reply: reply.send(control.ok(text="x" * control.MAX_ANSWER_BYTES)))
    try:
        answer = ask_in_thread(qtbot, "status")
    finally:
        huge.close()
    assert answer["ok"] is False
    assert "at most" in str(answer["error"])


def test_an_answer_larger_than_the_sockets_buffer_arrives_whole(
    runtime: Path, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The owner writes without blocking: what the kernel does not take at once goes later."""
    size = 4 * 1024 * 1024  # far more than a socket's send buffer
    monkeypatch.setattr(control, "MAX_ANSWER_BYTES", size + 100)
    monkeypatch.setattr(control_client, "MAX_ANSWER_BYTES", size + 100)
    big = ControlServer()
    assert big.claim()
    big.serve(lambda request, reply: reply.send(control.ok(text="x" * size)))
    try:
        answer = ask_in_thread(qtbot, "status")
    finally:
        big.close()
    assert answer == {"ok": True, "text": "x" * size}


def test_a_silent_client_is_answered_and_dropped_after_the_read_timeout(
    server: ControlServer, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(control, "READ_TIMEOUT", 0.2)
    assert server.path is not None
    answer = json.loads(raw_exchange(qtbot, server.path, b'{"op": "sta'))
    assert answer["category"] == control.BAD_REQUEST
    assert "no request line within" in answer["error"]


def test_the_password_of_a_login_request_stays_out_of_its_repr() -> None:
    line = control.encode_request("login", api_id="1", user="u", password="s3cret-pw")
    request = control.decode_request(line.rstrip(b"\n"))
    assert request.fields["password"] == "s3cret-pw"
    assert "s3cret-pw" not in repr(request)


def test_a_socket_file_left_by_a_crash_is_reclaimed(runtime: Path, qtbot: QtBot) -> None:
    directory = runtime / DIR_NAME
    directory.mkdir(mode=0o700)
    leftover = socket.socket(socket.AF_UNIX)
    leftover.bind(str(directory / "owner.sock"))
    leftover.close()  # the file stays and nobody listens: what a crash leaves behind
    claimed = ControlServer()
    assert claimed.claim()
    claimed.serve(echo)
    try:
        assert ask_in_thread(qtbot, "show")["op"] == "show"
    finally:
        claimed.close()


def test_a_socket_lost_while_the_lock_is_held_is_listened_on_again(
    server: ControlServer, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the server does after a failed accept() (EMFILE): it closes the socket and its file."""
    monkeypatch.setattr(control_client, "CONNECT_RETRY_SECONDS", 0.3)
    server._stop_listening()
    assert server.path is not None and not os.path.exists(server.path)
    with pytest.raises(OwnerUnreachable):
        ask(Owner(server.path, None), "status", timeout=1)
    server.ensure_listening()
    assert server.listening
    assert ask_in_thread(qtbot, "status")["ok"] is True


HOLDER = textwrap.dedent(
    """
    import os, resource, sys
    from PySide6.QtCore import QCoreApplication
    from tray_app.core import control
    from tray_app.qt.control import ControlServer

    app = QCoreApplication([])
    server = ControlServer()
    print("claimed" if server.claim() else "refused", flush=True)
    server.serve(lambda request, reply: reply.send(control.ok()))
    if sys.argv[1] == "exhaust":
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 256), hard))
        held = []
        try:
            while True:
                held.append(os.open(os.devnull, os.O_RDONLY))
        except OSError:
            print("out of file descriptors", flush=True)
    app.exec()
    """
)


@pytest.fixture
def holder_process(
    runtime: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[subprocess.Popen[str], LineReader]]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, request.param],
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    out = LineReader(process.stdout)
    try:
        out.wait_for("claimed", 30)
        yield process, out
    finally:
        process.kill()
        process.wait(timeout=10)


@pytest.mark.parametrize("holder_process", ["serve"], indirect=True)
def test_after_the_owner_is_killed_the_lock_is_free_at_once(
    holder_process: tuple[subprocess.Popen[str], LineReader], qtbot: QtBot
) -> None:
    process, _out = holder_process
    assert not ControlServer().claim()
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert (Path(os.environ["XDG_RUNTIME_DIR"]) / DIR_NAME / "owner.sock").exists()
    here = ControlServer()
    assert here.claim()
    here.serve(echo)
    try:
        assert ask_in_thread(qtbot, "status")["ok"] is True
    finally:
        here.close()


@pytest.mark.parametrize("holder_process", ["exhaust"], indirect=True)
def test_an_owner_out_of_file_descriptors_is_reported_and_never_replaced(
    holder_process: tuple[subprocess.Popen[str], LineReader],
    runtime: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    process, out = holder_process
    out.wait_for("out of file descriptors", 30)
    socket_file = runtime / DIR_NAME / "owner.sock"
    before = socket_file.stat().st_ino
    launch = start_tray()
    assert launch.returncode == 0, launch.stderr
    assert "is already running, but it did not answer" in launch.stderr
    assert "Traceback" not in launch.stderr
    assert process.poll() is None
    # The server stops listening after a failed accept() (EMFILE) and removes its file: either
    # way no second copy may have put a socket of its own there.
    assert not socket_file.exists() or socket_file.stat().st_ino == before
    monkeypatch.setattr(control_client, "CONNECT_RETRY_SECONDS", 0.5)
    owner = find_owner()
    assert owner is not None and owner.pid == process.pid
    with pytest.raises(OwnerUnreachable):
        ask(owner, "status", timeout=1)


def start_tray(env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A real tray launch that stops itself: it should refuse before it ever gets going."""
    return subprocess.run(
        [*CLI, "--hidden"],
        env={
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
            **(env_extra or {}),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


WITHOUT_POSIX = """
import runpy, sys
sys.modules["fcntl"] = None  # as on Windows: neither module exists
sys.modules["pwd"] = None
sys.argv = ["clickatell-tray", *sys.argv[1:]]
runpy.run_module("tray_app", run_name="__main__")
"""


@pytest.mark.parametrize(
    ("args", "says"),
    [(["--demo"], "cannot start: "), (["status"], "cannot look for a running tray: ")],
)
def test_without_flock_and_unix_users_the_app_says_so_in_one_line(
    runtime: Path, args: list[str], says: str
) -> None:
    """Where ``fcntl`` and ``pwd`` are missing the owner cannot be made safe: one line, exit 1."""
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_POSIX, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    assert says in line and "Unix sockets" in line
