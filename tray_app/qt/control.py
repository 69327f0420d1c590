"""The owner's control socket: claims ownership with the lock, then answers one line per client.

:meth:`ControlServer.claim` takes the lock in the private directory
(:mod:`tray_app.services.owner_files`); only then does it listen, removing a socket file
left by a crash (nobody else can hold the lock, so nobody else can be listening there).
Each connection is served like this:

* the peer must be this same user (``SO_PEERCRED``), else it is dropped unanswered;
* one request line (:mod:`tray_app.core.control`) within ``READ_TIMEOUT`` and
  ``MAX_REQUEST_BYTES``; a bad one gets a ``bad request`` answer;
* the handler answers through a :class:`Reply`, now or later (a ping waits for the API),
  within ``ANSWER_TIMEOUT``; then the connection is closed.

Listening can fail (no file descriptors left, say) and the process stays the owner: the
lock decides, so a second launch then reports an owner that does not answer instead of
starting a second copy; :meth:`ControlServer.ensure_listening` tries again later. An accept
that fails (no descriptor for the connection) stops listening until then, as Qt's
QLocalServer does, rather than spin on a socket that stays readable.

The sockets are plain ``AF_UNIX`` ones on QSocketNotifiers: QtNetwork's QLocalServer did the
same for about 3 MiB of library and a few milliseconds of start-up before the icon. The socket
file is this user's alone (mode 0600, in the 0700 directory), like QLocalServer's
``UserAccessOption``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QSocketNotifier, QTimer, Slot

from tray_app.core import control
from tray_app.core.control import ControlRequest
from tray_app.services.control_client import peer_uid
from tray_app.services.owner_files import OwnerLock, checked_dir, owner_name, socket_path

log = logging.getLogger(__name__)

Handler = Callable[[ControlRequest, "Reply"], None]
BACKLOG = 16
CLOSE_AFTER_ANSWER_MS = 1000
"""How long a client may take to hang up after its answer before the owner closes anyway."""


class ControlServer(QObject):
    """The lock and the socket of one owner (``demo`` or not)."""

    def __init__(self, *, demo: bool = False, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._name = owner_name(demo)
        self._lock: OwnerLock | None = None
        self._handler: Handler | None = None
        self._listener: tuple[socket.socket, QSocketNotifier, int] | None = None
        self._connections: set[_Connection] = set()
        """Held here, not by a Qt parent; see :class:`_Connection`."""
        """The listening socket, its notifier and the inode of its file (to remove only ours)."""
        self.path: str | None = None

    @property
    def listening(self) -> bool:
        return self._listener is not None

    def claim(self) -> bool:
        """True if this process is now the owner (it then listens); False if another is.

        UnsafeDirectory (from the directory check) if the directory may not be trusted.
        """
        if self._lock is not None and self._lock.held:
            return True
        directory = checked_dir(create=True)
        assert directory is not None
        lock = OwnerLock(directory, self._name)
        if not lock.acquire():
            return False
        self._lock = lock
        self.path = str(socket_path(directory, self._name))
        self._listen()
        return True

    @Slot()
    def ensure_listening(self) -> None:
        """Listen again if the socket was lost (an accept() failed: no file descriptors left,
        say). Cheap; the owner calls it on the keeper's tick."""
        if self._lock is not None and self._lock.held and self._listener is None:
            log.info("the control socket was closed; listening again")
            self._listen()

    def _listen(self) -> None:
        """Listen on the path; a file there is stale, since the lock is this process's."""
        assert self.path is not None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            listener.setblocking(False)
            listener.bind(self.path)
            os.chmod(self.path, 0o600)
            inode = os.stat(self.path).st_ino
            listener.listen(BACKLOG)
        except OSError as exc:
            listener.close()
            log.warning("the control socket is off, cannot listen on %s: %s", self.path, exc)
            return
        notifier = QSocketNotifier(listener.fileno(), QSocketNotifier.Type.Read, self)
        notifier.activated.connect(self._accept)
        self._listener = (listener, notifier, inode)

    def _stop_listening(self) -> None:
        """Close the listening socket and remove its file (if it is still this one's)."""
        if self._listener is None:
            return
        listener, notifier, inode = self._listener
        self._listener = None
        notifier.setEnabled(False)
        notifier.deleteLater()
        listener.close()
        assert self.path is not None
        with contextlib.suppress(OSError):
            if os.stat(self.path).st_ino == inode:
                os.unlink(self.path)

    def serve(self, handler: Handler) -> None:
        """Answer requests with ``handler``; until then, every request is told to wait."""
        self._handler = handler

    def close(self) -> None:
        for connection in list(self._connections):
            connection.abort()
        self._stop_listening()
        if self._lock is not None:
            self._lock.release()

    @Slot()
    def _accept(self) -> None:
        while self._listener is not None:
            try:
                client, _address = self._listener[0].accept()
            except BlockingIOError:
                return
            except OSError as exc:
                log.warning("the control socket is off until the next tick: %s", exc)
                self._stop_listening()
                return
            self._connections.add(_Connection(client, self))

    def _forget(self, connection: _Connection) -> None:
        """Drop a closed connection once the slot that closed it has returned."""
        connections = self._connections
        QTimer.singleShot(0, lambda: connections.discard(connection))

    def _dispatch(self, request: ControlRequest, reply: Reply) -> None:
        if self._handler is None:
            reply.send(control.failure("the owner is still starting", control.UNAVAILABLE))
            return
        try:
            self._handler(request, reply)
        except Exception as exc:
            log.exception("control request %s failed", request.op)
            reply.send(control.failure(f"the owner failed: {exc}", control.UNAVAILABLE))


class Reply:
    """Sends one answer to one client; ``then`` runs once the answer is on its way."""

    def __init__(self, connection: _Connection) -> None:
        self._connection: _Connection | None = connection

    @property
    def pending(self) -> bool:
        return self._connection is not None

    def send(self, answer: dict[str, Any], then: Callable[[], None] | None = None) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.answer(answer)
        if then is not None:
            then()


class _Connection(QObject):
    """One client: its request line in, one answer out, then closed.

    Its lifetime is Python's, not Qt's: the server holds it in a set and drops it after it
    closed, and its timers are child ``QTimer`` objects connected to slots. With the server
    as Qt parent, ``deleteLater`` and ``QTimer.singleShot(ms, self, callable)`` (PySide6
    keeps the callable, which holds ``self``, and drops it inside the QObject's destructor)
    crashed the process in about one run in three of the control tests.

    States: ``reading`` the request, ``working`` on it (still read, only to notice a client
    that hangs up), ``orphaned`` (it did; the answer will go nowhere), ``writing`` the answer,
    ``answered`` (sent and shut down for writing: waiting for the client to hang up, at most
    ``CLOSE_AFTER_ANSWER_MS``), ``closed``.
    """

    def __init__(self, client: socket.socket, server: ControlServer) -> None:
        super().__init__()
        self._client = client
        self._server = server
        self._data = b""
        self._out = b""
        self._state = "reading"
        self._notifiers: list[QSocketNotifier] = []
        self._writer: QSocketNotifier | None = None
        self._reply: Reply | None = None
        client.setblocking(False)
        if not _same_user(client):
            self._close("a process of another user")
            return
        self._reader = self._notifier(QSocketNotifier.Type.Read, self._read)
        self._after(int(control.READ_TIMEOUT * 1000), self._read_timed_out)
        self._read()

    def _after(self, ms: int, slot: Callable[[], None]) -> None:
        """Call ``slot`` once in ``ms``, on a timer that dies with this connection."""
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.timeout.connect(slot)
        timer.start(ms)

    def _notifier(self, kind: QSocketNotifier.Type, slot: Callable[[], None]) -> QSocketNotifier:
        notifier = QSocketNotifier(self._client.fileno(), kind, self)
        notifier.activated.connect(slot)
        self._notifiers.append(notifier)
        return notifier

    def answer(self, answer: dict[str, Any]) -> None:
        if self._state == "closed":
            return
        if self._state == "orphaned":
            self._close()
            return
        self._state = "writing"
        try:
            line = control.encode_answer(answer)
        except ValueError as exc:  # over the size cap: say so rather than send half a line
            line = control.encode_answer(control.failure(str(exc), control.UNAVAILABLE))
        self._out = line
        self._write()
        if self._state == "writing":  # the rest goes once the client has read some
            self._writer = self._notifier(QSocketNotifier.Type.Write, self._write)

    @Slot()
    def _write(self) -> None:
        if self._state != "writing":
            return
        try:
            sent = self._client.send(self._out)
        except BlockingIOError:
            return
        except OSError:
            self._close()
            return
        self._out = self._out[sent:]
        if self._out:
            return
        if self._writer is not None:
            self._writer.setEnabled(False)
        self._state = "answered"
        with contextlib.suppress(OSError):
            self._client.shutdown(socket.SHUT_WR)
        self._after(CLOSE_AFTER_ANSWER_MS, self._close_after_answer)

    @Slot()
    def _read(self) -> None:
        if self._state == "closed":
            return
        wanted = control.MAX_REQUEST_BYTES + 1 - len(self._data)
        try:
            chunk = self._client.recv(wanted if self._state == "reading" else 4096)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._gone()
            return
        if self._state != "reading":
            return  # past the request line: nothing more is taken in
        self._data += chunk
        if b"\n" in self._data:
            self._state = "working"
            self._handle(self._data.split(b"\n", 1)[0])
        elif len(self._data) > control.MAX_REQUEST_BYTES:
            self._refuse(f"a request is at most {control.MAX_REQUEST_BYTES} bytes")

    def _handle(self, line: bytes) -> None:
        try:
            request = control.decode_request(line)
        except ValueError as exc:
            self._refuse(str(exc))
            return
        self._reply = Reply(self)
        self._after(int(control.ANSWER_TIMEOUT * 1000), self._late)
        self._server._dispatch(request, self._reply)

    @Slot()
    def _late(self) -> None:
        if self._reply is not None and self._reply.pending:
            self._reply.send(control.failure("the owner found no answer in time", "transient"))

    @Slot()
    def _close_after_answer(self) -> None:
        self._close()

    def _refuse(self, reason: str) -> None:
        log.debug("control socket: %s", reason)
        self._state = "working"
        self.answer(control.failure(reason, control.BAD_REQUEST))

    @Slot()
    def _read_timed_out(self) -> None:
        if self._state == "reading":
            self._refuse(f"no request line within {control.READ_TIMEOUT:g} s")

    def _gone(self) -> None:
        """The client hung up (or its socket failed)."""
        if self._state == "working":
            self._state = "orphaned"  # the handler's answer, when it comes, goes nowhere
            self._reader.setEnabled(False)
        elif self._state in ("reading", "answered", "writing"):
            self._close()

    def _close(self, ignored_because: str = "") -> None:
        if ignored_because:
            log.warning("control socket: dropped %s", ignored_because)
        if self._state == "closed":
            return
        self._state = "closed"
        for notifier in self._notifiers:
            notifier.setEnabled(False)
        self._client.close()
        self._server._forget(self)

    def abort(self) -> None:
        """Close at once, unanswered: the server is closing."""
        self._close()


def _same_user(client: socket.socket) -> bool:
    """Whether the peer runs as this user; where the platform cannot tell, the 0700
    directory is the guard."""
    try:
        uid = peer_uid(client)
    except OSError:
        return False
    return uid is None or uid == os.geteuid()
