"""The total deadline of a request: a watchdog shuts its socket once the time is up.

urllib3's timeouts bound each step (connect, each read), not the whole: a server trickling
a byte a second never trips them. A :class:`Deadline` entered around a request registers
every socket the request uses (through the pools of :func:`guarded_pools`), and one
watchdog thread for all requests shuts them when the deadline passes, so the blocked read
wakes and the call fails.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any


class Deadline:
    """Shuts the socket of the request under way on this thread once the deadline passes."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._seconds = seconds
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []

    def __enter__(self) -> Deadline:
        _current.deadline = self
        _WATCHDOG.add(self, time.monotonic() + self._seconds)
        return self

    def __exit__(self, *_exc: object) -> None:
        _WATCHDOG.discard(self)
        _current.deadline = None

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            _shut(sock)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)


class _Watchdog:
    """One daemon thread for every deadline under way, started with the first.

    A thread per request (``threading.Timer``) cost more than the request itself on
    loopback; this one sleeps until the earliest deadline, or until a new one is earlier.
    """

    def __init__(self) -> None:
        self._due: dict[int, tuple[float, Deadline]] = {}
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._wake_at: float | None = None

    def add(self, deadline: Deadline, at: float) -> None:
        with self._changed:
            self._due[id(deadline)] = (at, deadline)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="request-deadlines", daemon=True
                )
                self._thread.start()
            if self._wake_at is None or at < self._wake_at:
                self._changed.notify()

    def discard(self, deadline: Deadline) -> None:
        with self._changed:
            self._due.pop(id(deadline), None)

    def _run(self) -> None:
        while True:
            with self._changed:
                now = time.monotonic()
                late = [d for at, d in self._due.values() if at <= now]
                for deadline in late:
                    del self._due[id(deadline)]
                if not late:
                    self._wake_at = min((at for at, _d in self._due.values()), default=None)
                    self._changed.wait(None if self._wake_at is None else self._wake_at - now)
                    continue
            for deadline in late:
                deadline.expire()


_WATCHDOG = _Watchdog()


def _shut(sock: socket.socket) -> None:
    """Wake a thread blocked reading ``sock``: the plain socket's shutdown, TLS or not."""
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Current(threading.local):
    deadline: Deadline | None = None


_current = _Current()


def guarded_pools() -> dict[str, type[Any]]:
    """Connection pools whose connections hand their socket to this thread's deadline.

    A new connection registers its socket once connected; a reused one when it is handed out.
    """
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    def watched(base: type[Any]) -> type[Any]:
        class Watched(base):
            def connect(self) -> None:
                super().connect()
                _watch(self.sock)

        return Watched

    def guarded(base: type[Any], connection: type[Any]) -> type[Any]:
        class Guarded(base):
            ConnectionCls = watched(connection)

            def _make_request(self, conn: Any, *args: Any, **kwargs: Any) -> Any:
                _watch(conn.sock)
                return super()._make_request(conn, *args, **kwargs)

        return Guarded

    return {
        "http": guarded(HTTPConnectionPool, HTTPConnection),
        "https": guarded(HTTPSConnectionPool, HTTPSConnection),
    }


def _watch(sock: socket.socket | None) -> None:
    deadline = _current.deadline
    if deadline is not None:
        deadline.watch(sock)
