"""One HTTP server shape for the app's loopback servers (the simulator and the local proxy).

Standard library only, so that the simulator (which may use nothing but ``core``) and the
proxy share it: threads per connection, a backlog that takes a burst of clients, no reverse
DNS lookup at bind time, and a record of open connections so that a stop can cut idle
keep-alive ones at once instead of waiting for their timeout.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import threading
from http.server import ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)


class TrackedHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its open connections; see the module docstring."""

    daemon_threads = True
    # socketserver's default backlog of 5 makes a burst of clients wait a second for a SYN retry.
    request_queue_size = 128

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

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
