"""One HTTP server shape for the app's loopback servers (the simulator and the local proxy).

Standard library only, so that the simulator (which may use nothing but ``core``) and the
proxy share it: threads per connection, a backlog that takes a burst of clients, no reverse
DNS lookup at bind time, and a record of open connections so that a stop can cut idle
keep-alive ones at once instead of waiting for their timeout.

It sheds load rather than fall over: past ``max_connections`` open connections a new one is
answered ``503`` (with ``Retry-After: 1``) and closed before a thread is spent on it, and out
of file descriptors a descriptor kept in reserve accepts a waiting client to answer it the
same, so the serving loop never spins on a listening socket it cannot accept from.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import socketserver
import threading
import time
from http.server import ThreadingHTTPServer
from typing import Any

from tray_app.core.os_threads import name_os_thread

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 256
SHED_PAUSE = 0.05
_OUT_OF_DESCRIPTORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_BUSY_TEXT = b"Too many connections: retry in a moment.\n"
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: %d\r\nRetry-After: 1\r\nConnection: close\r\n\r\n%s"
    % (len(_BUSY_TEXT), _BUSY_TEXT)
)


def _reserve_descriptor() -> int | None:
    """One descriptor held back, so that a server out of them can still say no."""
    try:
        return os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None


def _refuse(connection: socket.socket) -> None:
    """Tell a client the server is busy, never blocking on a client that does not read."""
    with contextlib.suppress(OSError):
        connection.setblocking(False)
        connection.send(_BUSY)


class TrackedHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its open connections; see the module docstring."""

    daemon_threads = True
    # socketserver's default backlog of 5 makes a burst of clients wait a second for a SYN retry.
    request_queue_size = 128
    # Connections beyond this many open ones are answered 503 at once; see verify_request.
    max_connections = MAX_CONNECTIONS
    # What a connection's thread is called in /proc, so a wake-up there says whose it is.
    connection_thread_name = "http-connection"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._reserve = _reserve_descriptor()
        super().__init__(*args, **kwargs)

    def get_request(self) -> tuple[Any, Any]:
        """Accept a connection; out of descriptors, shed one instead of spinning.

        When ``accept`` fails with EMFILE the client stays in the backlog and the listening
        socket stays readable, so the loop would wake at once, fail again and spin at 100 %
        CPU. Instead the reserve descriptor is freed, the waiting client accepted with it,
        told 503 and closed, and the reserve taken back; if even that fails, the loop pauses
        a moment before it looks again.
        """
        try:
            return super().get_request()
        except OSError as error:
            if error.errno in _OUT_OF_DESCRIPTORS:
                self._shed_one()
            raise

    def _shed_one(self) -> None:
        if self._reserve is not None:
            os.close(self._reserve)
            self._reserve = None
        try:
            connection, _ = self.socket.accept()
        except OSError:
            time.sleep(SHED_PAUSE)
        else:
            _refuse(connection)
            connection.close()
        finally:
            self._reserve = _reserve_descriptor()
        log.warning("out of file descriptors: a connection was refused with 503")

    def verify_request(self, request: Any, client_address: Any) -> bool:
        """Refuse (503) a connection past ``max_connections``; socketserver then closes it."""
        with self._connections_lock:
            full = len(self._connections) >= self.max_connections
        if full:
            _refuse(request)
            log.debug("%d connections open: a new one was refused", self.max_connections)
        return not full

    def server_close(self) -> None:
        super().server_close()
        if self._reserve is not None:
            os.close(self._reserve)
            self._reserve = None

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup of the host, which can stall."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        name_os_thread(self.connection_thread_name)
        super().process_request_thread(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut every open connection, idle keep-alive ones included."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up are routine here: a debug line, no stderr traceback.

        The request line is not logged: it may carry a password or a proxy token.
        """
        log.debug("a request from %s failed", client_address, exc_info=True)
