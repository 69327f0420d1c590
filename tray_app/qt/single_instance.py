"""One instance per user: the first launch listens on a local socket, a second one knocks.

The socket is the user's alone: it lives in ``$XDG_RUNTIME_DIR`` (mode 0700) where there is
one, and Qt's ``UserAccessOption`` makes the socket itself user-only (on Windows, the pipe's
ACL). Its name carries the user's name as well, so two users never meet on one name even in
a shared ``/tmp`` or the global pipe namespace.

What arrives is a command name from :data:`COMMANDS`, ASCII, ended by a newline or by the
sender closing: at most :data:`MAX_COMMAND_BYTES` per connection, then the connection is
dropped. Anything else (too long, binary, unknown, nothing at all within
:data:`READ_TIMEOUT_MS`) is ignored with a debug line: whoever sends it is this same user, so
there is nothing to defend against beyond a wedged or chatty peer.

Claiming asks first whether anyone answers on the name: with ``UserAccessOption`` Qt's
``listen`` would otherwise replace a live instance's socket file without complaint. Nobody
answering means a socket file left by a crash, which is removed. Two launches in the very
same millisecond can both win; the window is the time between the probe and the listen.
"""

from __future__ import annotations

import getpass
import logging
import os
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from tray_app import APP_ID

log = logging.getLogger(__name__)

COMMANDS = ("show", "quit")
"""``show``: a second launch asks the first to show itself; ``quit``: ask it to exit."""
MAX_COMMAND_BYTES = 64
READ_TIMEOUT_MS = 2000
PROBE_TIMEOUT_MS = 250


_SOCKET_PATH_MAX = 104
"""A Unix socket path must fit sockaddr_un (108 bytes on Linux, 104 on macOS)."""


def default_name(variant: str = "") -> str:
    """A server name that is this user's alone: APP_ID plus the user, in the runtime dir.

    A ``variant`` (``"demo"``) gets a name of its own, so a demo can run beside the real app.
    """
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    name = f"{APP_ID}-{''.join(c if c.isalnum() or c in '._-' else '_' for c in user)}"
    if variant:
        name = f"{name}-{variant}"
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    if runtime_dir and os.path.isdir(runtime_dir):
        path = os.path.join(runtime_dir, f"{name}.sock")
        if len(path.encode()) < _SOCKET_PATH_MAX:
            return path
    return name


class SingleInstance(QObject):
    """Claims the name for this process, or carries commands to the process that has it."""

    command_received = Signal(str)

    def __init__(self, name: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name or default_name()
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._accept)

    @property
    def full_name(self) -> str:
        """Where the socket lives (a path, or a pipe name on Windows) once claimed."""
        return self._server.fullServerName()

    def claim(self) -> bool:
        """True if no other instance answers; then this one listens for commands.

        Should even listening fail (an unwritable runtime dir), the app is better running
        without the guard than not at all: that is logged and True is returned.
        """
        if self._server.isListening():
            return True
        if _answers(self.name):
            return False
        if self._server.listen(self.name):
            return True
        log.info("removing a stale instance socket: %s", self._server.errorString())
        QLocalServer.removeServer(self.name)
        if not self._server.listen(self.name):
            log.warning(
                "single-instance guard off, cannot listen on %s: %s",
                self.name,
                self._server.errorString(),
            )
        return True

    def send(self, command: str, timeout_ms: int = 1000) -> bool:
        """Deliver ``command`` to the instance that holds the name; True once it was written.

        Blocking, for the second launch before it has an event loop.
        """
        if command not in COMMANDS:
            raise ValueError(f"unknown command {command!r}; known: {', '.join(COMMANDS)}")
        deadline = time.monotonic() + timeout_ms / 1000

        def left_ms() -> int:
            return max(0, round((deadline - time.monotonic()) * 1000))

        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(left_ms()):
            log.debug("no instance answers on %s: %s", self.name, socket.errorString())
            return False
        socket.write(f"{command}\n".encode("ascii"))
        while socket.bytesToWrite() > 0:
            if not socket.waitForBytesWritten(left_ms()):
                log.debug("could not send %r: %s", command, socket.errorString())
                socket.abort()
                return False
        socket.disconnectFromServer()
        return True

    @Slot()
    def _accept(self) -> None:
        while (socket := self._server.nextPendingConnection()) is not None:
            _Reader(socket, self.command_received.emit, self)


class _Reader(QObject):
    """Reads one command from one connection, then closes it."""

    def __init__(self, socket: QLocalSocket, found: Callable[[str], None], parent: QObject) -> None:
        super().__init__(parent)
        self._socket = socket
        socket.setParent(self)
        self._found = found
        self._data = b""
        self._done = False
        socket.readyRead.connect(self._read)
        socket.disconnected.connect(self._closed_by_peer)
        QTimer.singleShot(READ_TIMEOUT_MS, self, self._time_out)
        self._read()

    def _take(self) -> None:
        """Read what has come, never more than one byte past the limit."""
        wanted = MAX_COMMAND_BYTES + 1 - len(self._data)
        if wanted > 0:
            self._data += bytes(self._socket.read(wanted).data())

    @Slot()
    def _read(self) -> None:
        if self._done:
            return
        self._take()
        if b"\n" in self._data:
            self._conclude(self._data.split(b"\n", 1)[0])
        elif len(self._data) > MAX_COMMAND_BYTES:
            self._close("over the size limit without a newline")

    @Slot()
    def _closed_by_peer(self) -> None:
        """A sender may end the command by closing instead of with a newline."""
        if self._done:
            return
        self._take()
        if len(self._data) > MAX_COMMAND_BYTES and b"\n" not in self._data:
            self._close("over the size limit without a newline")
        else:
            self._conclude(self._data.split(b"\n", 1)[0])

    def _conclude(self, line: bytes) -> None:
        try:
            command = line.decode("ascii").strip()
        except UnicodeDecodeError:
            self._close("not ASCII")
            return
        if command in COMMANDS:
            self._close()
            self._found(command)
        else:
            self._close(f"unknown command {command!r}" if command else "")

    @Slot()
    def _time_out(self) -> None:
        if not self._done:
            self._close(f"no command within {READ_TIMEOUT_MS} ms")

    def _close(self, ignored_because: str = "") -> None:
        if ignored_because:
            log.debug("instance socket: input ignored, %s", ignored_because)
        self._done = True
        self._socket.abort()
        self.deleteLater()


def _answers(name: str) -> bool:
    """Whether a live instance accepts a connection on ``name`` (and hang up at once)."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    answered = socket.waitForConnected(PROBE_TIMEOUT_MS)
    socket.abort()
    return answered
