"""An HTTP proxy on 127.0.0.1 for the tests: it records every request line it is sent.

``CONNECT host:port`` is tunnelled to ``target`` (a port on 127.0.0.1, whatever host was
asked for), so a client told to use this proxy for ``https://api.example.test`` really
reaches a local TLS server through it; any other request gets ``502`` and is only recorded.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading


class ConnectProxy:
    """Listens on a free port until ``stop``; ``lines`` holds each request line received."""

    def __init__(self, target: int) -> None:
        self.lines: list[str] = []
        self._target = target
        self._stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def __enter__(self) -> ConnectProxy:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopping.set()
        for thread in list(self._threads):
            thread.join(5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _peer = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            head = b""
            with contextlib.suppress(OSError):
                while b"\r\n\r\n" not in head and (chunk := conn.recv(4096)):
                    head += chunk
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            self.lines.append(line)
            if not line.startswith("CONNECT "):
                with contextlib.suppress(OSError):
                    conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            with socket.create_connection(("127.0.0.1", self._target), timeout=5) as upstream:
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self._pipe(conn, upstream)

    def _pipe(self, one: socket.socket, other: socket.socket) -> None:
        peers = {one: other, other: one}
        while not self._stopping.is_set():
            ready, _w, _x = select.select(list(peers), [], [], 0.2)
            for sock in ready:
                try:
                    data = sock.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                peers[sock].sendall(data)
