"""One instance per user over a local socket: claiming, commands, garbage, stale sockets.

Each test uses its own socket name. The cross-process tests run the first instance as a
child Python with its own event loop, as a real second launch would meet it.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtNetwork import QLocalSocket
from pytestqt.qtbot import QtBot

from tray_app import APP_ID
from tray_app.qt import single_instance
from tray_app.qt.single_instance import COMMANDS, MAX_COMMAND_BYTES, SingleInstance, default_name


@pytest.fixture
def name(tmp_path: Path) -> str:
    """A socket path of this test's own (short: Unix socket paths end at 107 bytes)."""
    short = Path("/tmp") if len(str(tmp_path)) > 80 else tmp_path
    return str(short / f"cst-{uuid.uuid4().hex[:12]}.sock")


@pytest.fixture
def first(name: str) -> Iterator[SingleInstance]:
    instance = SingleInstance(name)
    assert instance.claim()
    yield instance
    instance.deleteLater()


def received(instance: SingleInstance) -> list[str]:
    commands: list[str] = []
    instance.command_received.connect(commands.append)
    return commands


def send_raw(name: str, data: bytes, *, close: bool = True) -> QLocalSocket:
    """Write ``data`` as a foreign client would, bypassing :meth:`SingleInstance.send`."""
    client = QLocalSocket()
    client.connectToServer(name)
    assert client.waitForConnected(1000)
    client.write(data)
    client.flush()
    if close:
        client.disconnectFromServer()
    return client


def test_the_second_instance_cannot_claim_and_its_show_reaches_the_first(
    first: SingleInstance, name: str, qtbot: QtBot
) -> None:
    second = SingleInstance(name)
    assert not second.claim()
    with qtbot.waitSignal(first.command_received) as got:
        assert second.send("show")
    assert got.args == ["show"]


def test_quit_is_a_command_too(first: SingleInstance, name: str, qtbot: QtBot) -> None:
    with qtbot.waitSignal(first.command_received) as got:
        assert SingleInstance(name).send("quit")
    assert got.args == ["quit"]
    assert set(COMMANDS) == {"show", "quit"}


def test_claiming_twice_in_the_same_instance_keeps_it(first: SingleInstance) -> None:
    assert first.claim()


def test_sending_an_unknown_command_is_a_programming_error(name: str) -> None:
    with pytest.raises(ValueError, match="unknown command"):
        SingleInstance(name).send("reboot")


def test_sending_with_nobody_listening_says_so(name: str) -> None:
    assert not SingleInstance(name).send("show", timeout_ms=200)


@pytest.mark.parametrize(
    "garbage",
    [
        b"reboot\n",
        b"\xff\xfe\x00show\n",
        b"show" + b" " * MAX_COMMAND_BYTES + b"\n",
        b"x" * 10_000,
        b"\n",
        b"",
        b"SHOW\n",
    ],
    ids=["unknown", "binary", "too-long-line", "flood", "empty-line", "nothing", "wrong-case"],
)
def test_garbage_is_ignored_and_the_server_keeps_serving(
    first: SingleInstance, name: str, garbage: bytes, qtbot: QtBot
) -> None:
    commands = received(first)
    send_raw(name, garbage)
    with qtbot.waitSignal(first.command_received):
        SingleInstance(name).send("show")
    qtbot.wait(50)
    assert commands == ["show"]


def test_a_command_may_end_with_the_sender_closing(
    first: SingleInstance, name: str, qtbot: QtBot
) -> None:
    with qtbot.waitSignal(first.command_received) as got:
        send_raw(name, b"show")
    assert got.args == ["show"]


def test_only_the_first_line_counts(first: SingleInstance, name: str, qtbot: QtBot) -> None:
    commands = received(first)
    with qtbot.waitSignal(first.command_received):
        send_raw(name, b"show\nquit\n")
    qtbot.wait(50)
    assert commands == ["show"]


def test_a_silent_client_is_dropped(
    first: SingleInstance, name: str, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(single_instance, "READ_TIMEOUT_MS", 100)
    client = send_raw(name, b"", close=False)
    qtbot.waitUntil(
        lambda: client.state() == QLocalSocket.LocalSocketState.UnconnectedState, timeout=2000
    )


def test_a_flooding_client_is_dropped_before_the_timeout(
    first: SingleInstance, name: str, qtbot: QtBot
) -> None:
    commands = received(first)
    client = send_raw(name, b"x" * 10_000, close=False)
    qtbot.waitUntil(
        lambda: client.state() == QLocalSocket.LocalSocketState.UnconnectedState,
        timeout=single_instance.READ_TIMEOUT_MS // 2,
    )
    assert commands == []


def test_a_name_nobody_can_listen_on_runs_unguarded_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    instance = SingleInstance(str(tmp_path / "no-such-dir" / "x.sock"))
    with caplog.at_level(logging.WARNING, "tray_app.qt.single_instance"):
        assert instance.claim()
    assert "single-instance guard off" in caplog.text


@pytest.mark.skipif(sys.platform == "win32", reason="a named pipe has no file mode")
def test_the_socket_is_for_this_user_only(first: SingleInstance, name: str) -> None:
    assert first.full_name == name
    mode = os.stat(first.full_name).st_mode
    assert stat.S_ISSOCK(mode)
    assert mode & 0o077 == 0


@pytest.mark.skipif(sys.platform == "win32", reason="Unix socket files only")
def test_a_socket_file_left_by_a_crash_is_reclaimed(name: str, qtbot: QtBot) -> None:
    leftover = socket.socket(socket.AF_UNIX)
    leftover.bind(name)
    leftover.close()  # the file stays, nobody listens: what a crash leaves behind
    assert os.path.exists(name)
    instance = SingleInstance(name)
    assert instance.claim()
    with qtbot.waitSignal(instance.command_received) as got:
        assert SingleInstance(name).send("show")
    assert got.args == ["show"]


def test_the_default_name_is_per_user_and_in_the_runtime_dir(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with tempfile.TemporaryDirectory(dir="/tmp") as short:
        runtime = Path(short)
        monkeypatch.setenv("XDG_RUNTIME_DIR", short)
        monkeypatch.setattr(single_instance.getpass, "getuser", lambda: "alice")
        assert default_name() == str(runtime / f"{APP_ID}-alice.sock")
        assert default_name("demo") == str(runtime / f"{APP_ID}-alice-demo.sock")
        monkeypatch.setattr(single_instance.getpass, "getuser", lambda: "bob")
        assert default_name() == str(runtime / f"{APP_ID}-bob.sock")


def test_a_runtime_dir_too_deep_for_a_socket_path_falls_back_to_a_plain_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    deep = tmp_path / ("d" * 80)
    deep.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(deep))
    monkeypatch.setattr(single_instance.getpass, "getuser", lambda: "alice")
    assert default_name() == f"{APP_ID}-alice"


def test_without_a_runtime_dir_the_name_still_carries_the_user(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(single_instance.getpass, "getuser", lambda: "dom/ain user")
    assert default_name() == f"{APP_ID}-dom_ain_user"


# Across processes.

CHILD = """
import sys
from PySide6.QtCore import QCoreApplication
from tray_app.qt.single_instance import SingleInstance

app = QCoreApplication([])
instance = SingleInstance(sys.argv[1])
print("claimed" if instance.claim() else "refused", flush=True)

def got(command):
    print(command, flush=True)
    if command == "quit":
        app.quit()

instance.command_received.connect(got)
app.exec()
"""


class Child:
    """A first instance in its own process, reporting on stdout."""

    def __init__(self, name: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", CHILD, name],
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
        )

    def line(self, timeout: float = 15) -> str:
        stdout = self.process.stdout
        assert stdout is not None
        readable, _, _ = select.select([stdout], [], [], timeout)
        assert readable, "the child said nothing"
        return stdout.readline().strip()


@pytest.fixture
def child(name: str) -> Iterator[Child]:
    started = Child(name)
    try:
        assert started.line() == "claimed"
        yield started
    finally:
        if started.process.poll() is None:
            started.process.kill()
        started.process.wait(timeout=10)


def test_another_process_holds_the_name_and_takes_commands(child: Child, name: str) -> None:
    here = SingleInstance(name)
    assert not here.claim()
    assert here.send("show")
    assert child.line() == "show"
    assert here.send("quit")
    assert child.line() == "quit"
    assert child.process.wait(timeout=10) == 0


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and socket files are Unix")
def test_after_the_holder_is_killed_the_name_is_free_again(
    child: Child, name: str, qtbot: QtBot
) -> None:
    assert not SingleInstance(name).claim()
    child.process.send_signal(signal.SIGKILL)
    child.process.wait(timeout=10)
    assert os.path.exists(name), "a killed instance leaves its socket file behind"
    started = time.monotonic()
    here = SingleInstance(name)
    assert here.claim()
    assert time.monotonic() - started < 1
    with qtbot.waitSignal(here.command_received):
        assert SingleInstance(name).send("show")
