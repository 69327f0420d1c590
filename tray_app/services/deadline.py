"""The total deadline of a request, kept by its own socket operations: no thread, no wake-up.

urllib3's timeouts bound each step (connect, each read), not the whole: a server trickling
a byte a second never trips them. So while a :class:`Deadline` is entered on a thread, every
blocking operation a request's socket does on that thread (each recv, read, send) waits at
most the time left to it, and fails at once with a timeout once none is left.

Why the sockets check, rather than a watchdog shutting them when the time is up: the idle
app pings every 10 minutes, and a watchdog thread woke twice per ping (told of the new
deadline, then at a deadline long met), a tenth of its whole budget of wake-ups an hour.
Cutting a blocked wait short needs someone awake at the deadline; making every wait no
longer than the time left needs nobody, and costs a clock read per operation.

Why the socket's class is switched (:func:`_bound`) rather than the socket wrapped: urllib3
and http.client hold the socket itself (``isinstance`` checks, ``fileno()`` polls for a
dropped connection, ``makefile``), so a wrapper object would have to pass all of that on.
The subclasses add no slot, so ``__class__`` can be assigned on a live socket; their
methods look up this thread's deadline on each call, so a kept-alive connection serves each
later request under that request's own deadline, and used with no deadline entered (after
the request, or by anyone else) a socket behaves exactly as before.

What is bounded: every operation after the TCP connect, the ``CONNECT`` exchange with a
proxy included (the plain socket is switched as soon as urllib3 has it). The TCP connect and
the TLS handshake happen inside urllib3's ``connect`` and are bounded per step by the connect
timeout only, as before; if they used up the deadline the request's first send fails. A
socket of another kind (a SOCKS proxy's, pyOpenSSL's) is left alone: nothing is cut.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

_T = TypeVar("_T")


class Deadline:
    """The deadline of the request under way on this thread, from when it is entered.

    ``expired`` says that a socket operation failed because the deadline passed, so that
    the caller can say "too slow" rather than "timed out".
    """

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._seconds = seconds
        self.ends_at = 0.0
        self._outer: Deadline | None = None

    def __enter__(self) -> Deadline:
        self.ends_at = time.monotonic() + self._seconds
        self._outer = _current.deadline
        _current.deadline = self
        return self

    def __exit__(self, *_exc: object) -> None:
        _current.deadline = self._outer


class _Current(threading.local):
    deadline: Deadline | None = None


_current = _Current()


def _within(sock: socket.socket, operation: Callable[..., _T], *args: Any) -> _T:
    """``operation(sock, *args)`` waiting no longer than this thread's deadline allows.

    The socket's own timeout (urllib3's step timeout) is put back after the call, so
    urllib3's view of the socket never changes; it is only touched when the deadline is
    nearer than that timeout.
    """
    deadline = _current.deadline
    if deadline is None:
        return operation(sock, *args)
    left = deadline.ends_at - time.monotonic()
    step = sock.gettimeout()
    if step is not None and step <= left:
        return operation(sock, *args)
    if left <= 0:
        deadline.expired = True
        raise TimeoutError("timed out")
    sock.settimeout(left)
    try:
        return operation(sock, *args)
    except TimeoutError:
        deadline.expired = True
        raise
    finally:
        with contextlib.suppress(OSError):  # closed meanwhile: nothing left to put back
            sock.settimeout(step)


class _BoundSocket(socket.socket):
    """A plain socket whose I/O keeps to this thread's deadline (``makefile`` reads go
    through ``recv_into``)."""

    __slots__ = ()

    def recv(self, *args: Any) -> bytes:
        return _within(self, socket.socket.recv, *args)

    def recv_into(self, *args: Any) -> int:
        return _within(self, socket.socket.recv_into, *args)

    def send(self, *args: Any) -> int:
        return _within(self, socket.socket.send, *args)

    def sendall(self, *args: Any) -> None:
        return _within(self, socket.socket.sendall, *args)


class _BoundSSLSocket(ssl.SSLSocket):
    """A TLS socket whose I/O keeps to this thread's deadline: ``recv`` and ``recv_into``
    go through ``read``, ``sendall`` through ``send``, so those are the ones bounded."""

    __slots__ = ()

    def read(self, *args: Any) -> Any:
        return _within(self, ssl.SSLSocket.read, *args)

    def write(self, *args: Any) -> int:
        return _within(self, ssl.SSLSocket.write, *args)

    def send(self, *args: Any) -> int:
        return _within(self, ssl.SSLSocket.send, *args)


_BOUND: dict[type, type] = {socket.socket: _BoundSocket, ssl.SSLSocket: _BoundSSLSocket}


def _bound(sock: object) -> None:
    """Switch a connection's socket to the class that keeps to the deadline.

    urllib3's TLS-in-TLS (an https proxy) hands out a transport over the proxy's TLS
    socket; that socket carries every byte, so it is the one switched.
    """
    inner = getattr(sock, "socket", None)
    if not isinstance(sock, socket.socket) and isinstance(inner, socket.socket):
        sock = inner
    bound = _BOUND.get(type(sock))
    if bound is not None:
        sock.__class__ = bound


def guarded_pools() -> dict[str, type[Any]]:
    """Connection pools whose connections' sockets keep to this thread's deadline.

    The plain socket is switched as soon as it is connected (so that a proxy's ``CONNECT``
    exchange is bounded too), and the socket the connection ends up with once connected
    (TLS or not). A reused connection keeps its socket's class, so nothing is done per call.
    """
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    def bounded(base: type[Any]) -> type[Any]:
        class Bounded(base):
            def _new_conn(self) -> socket.socket:
                sock: socket.socket = super()._new_conn()
                _bound(sock)
                return sock

            def connect(self) -> None:
                super().connect()
                _bound(self.sock)

        return Bounded

    def guarded(base: type[Any], connection: type[Any]) -> type[Any]:
        class Guarded(base):
            ConnectionCls = bounded(connection)

        return Guarded

    return {
        "http": guarded(HTTPConnectionPool, HTTPConnection),
        "https": guarded(HTTPSConnectionPool, HTTPSConnection),
    }
