"""Calls to a plain-http server on this machine, over ``http.client`` with kept-alive connections.

The base-URL policy allows ``http://`` only for a loopback host, and for such a server
nothing that requests adds is used: there is no TLS, no proxy (never for loopback), no
cookie, no redirect to follow. What requests and urllib3 cost per call (about 0.2 ms) was
most of what the local proxy added to a call on loopback, so these calls skip them: a
small pool of ``http.client`` connections, each handed to the request's deadline when it
is used, and the same rules on the answer as every call (:mod:`http_limits`).

A kept connection the server has closed meanwhile is seen before it is used (its socket
reads as ready) and replaced; a call is never sent twice, since ``sendmsg`` is not
idempotent.
"""

from __future__ import annotations

import contextlib
import http.client
import select
import socket
import threading

from tray_app.services.deadline import watch
from tray_app.services.http_limits import (
    NO_SUCH_HOST,
    REFUSED,
    TIMED_OUT,
    UNREACHABLE,
    Failed,
    Reply,
)

DEFAULT_POOL_SIZE = 10


class LoopbackTransport:
    """Connections to ``host:port`` kept for reuse, at most ``pool_size`` of them idle."""

    def __init__(
        self,
        host: str,
        port: int,
        prefix: str,
        headers: dict[str, str],
        timeout: tuple[float, float],
        pool_size: int,
    ) -> None:
        self._address = (host, port)
        self._prefix = prefix
        self._headers = headers
        self._connect_timeout, self._read_timeout = timeout
        self._pool_size = pool_size or DEFAULT_POOL_SIZE
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def post(self, path: str, body: bytes | str, headers: dict[str, str]) -> Reply:
        """Send one POST; its answer's head, or :class:`Failed`."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        connection = self._connection()
        try:
            connection.request("POST", self._prefix + path, data, {**self._headers, **headers})
            response = connection.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise Failed(_description(exc), type(exc).__name__) from None
        done = _Ending(self, connection, response)
        return Reply(
            response.status,
            response.getheader("Content-Type"),
            response.getheader("Content-Encoding"),
            done.read,
            done.close,
        )

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _connection(self) -> http.client.HTTPConnection:
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                return self._connect()
            if connection.sock is not None and not _dropped(connection.sock):
                watch(connection.sock)
                return connection
            connection.close()

    def _connect(self) -> http.client.HTTPConnection:
        host, port = self._address
        connection = http.client.HTTPConnection(host, port, timeout=self._connect_timeout)
        try:
            connection.connect()
        except OSError as exc:
            connection.close()
            raise Failed(_description(exc), type(exc).__name__) from None
        assert connection.sock is not None
        connection.sock.settimeout(self._read_timeout)
        watch(connection.sock)
        return connection

    def _keep(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < self._pool_size:
                self._idle.append(connection)
                return
        connection.close()


class _Ending:
    """Reads one answer's body and then gives its connection back, or closes it."""

    def __init__(
        self,
        transport: LoopbackTransport,
        connection: http.client.HTTPConnection,
        response: http.client.HTTPResponse,
    ) -> None:
        self._transport = transport
        self._connection = connection
        self._response = response
        self._finished = False

    def read(self, size: int) -> bytes:
        try:
            chunk = self._response.read(size)
        except (OSError, http.client.HTTPException) as exc:
            raise Failed(_description(exc), type(exc).__name__) from None
        if not chunk:
            self._finished = True
        return chunk

    def close(self) -> None:
        """Reuse the connection only after an answer read to its end on a kept-alive one."""
        if self._finished and not self._response.will_close and self._connection.sock:
            self._response.close()
            self._transport._keep(self._connection)
            return
        with contextlib.suppress(OSError):
            self._response.close()
        self._connection.close()


def _dropped(sock: socket.socket) -> bool:
    """True when a kept connection has news before a request: the server closed it."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _description(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return TIMED_OUT
    if isinstance(exc, ConnectionRefusedError):
        return REFUSED
    if isinstance(exc, socket.gaierror):
        return NO_SUCH_HOST
    return UNREACHABLE
