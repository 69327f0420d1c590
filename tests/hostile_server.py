"""A hostile HTTP server on 127.0.0.1 for the tests and the benchmark: it answers as told.

Real servers, proxies and captive portals send answers a client must survive: bodies of any
size (1 GiB, endless), at any speed (a byte a second, in the headers or the body), gzip bombs,
redirects, 3xx and 4xx pages that start with ``OK:``, pings answering another ID, error lines
full of escape sequences. Raw sockets rather than ``http.server``, so every byte and its
timing is the test's choice. Each accepted connection is served on a daemon thread; ``stop``
ends every answer still being sent and closes the listening socket.

Every answer is a :class:`Reply`; ``server.reply`` is the one given to the next request, and
``server.requests`` records what each request sent (request line, headers, body) and how many
bytes the answer got out before the client hung up.
"""

from __future__ import annotations

import functools
import itertools
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

CHUNK = 64 * 1024
GIB = 1024**3


@dataclass
class Reply:
    """One answer: a status line, headers, and a body that is produced as it is sent.

    ``size`` bytes of ``filler`` follow ``body`` (``None`` means endless, sent chunked);
    ``trickle`` sends every byte, headers included, that many seconds apart; ``close_after``
    closes the connection once the answer is sent without saying so, as a server whose
    keep-alive timer ran out does; ``drop`` reads the request and closes the connection
    without any answer; ``delay`` waits that many seconds before answering at all.
    """

    body: bytes = b"OK:"
    status: str = "200 OK"
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/plain"})
    size: int | None = 0
    filler: bytes = b"a"
    trickle: float | None = None
    hang: bool = False
    close_after: bool = False
    drop: bool = False
    delay: float = 0.0

    def head(self) -> bytes:
        lines = [f"HTTP/1.1 {self.status}", *(f"{k}: {v}" for k, v in self.headers.items())]
        if self.size is None:
            lines.append("Transfer-Encoding: chunked")
        else:
            lines.append(f"Content-Length: {len(self.body) + self.size}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def chunks(self, stopping: threading.Event) -> Iterator[bytes]:
        """The bytes to send after the head, ready framed (chunked when endless)."""
        if self.size is None:
            yield b"%x\r\n%s\r\n" % (len(self.body), self.body) if self.body else b""
            block = (self.filler * (CHUNK // len(self.filler) + 1))[:CHUNK]
            framed = b"%x\r\n%s\r\n" % (len(block), block)
            while not stopping.is_set():
                yield framed
            return
        yield self.body
        block = (self.filler * (CHUNK // len(self.filler) + 1))[:CHUNK]
        left = self.size
        while left > 0 and not stopping.is_set():
            yield block[:left]
            left -= min(left, CHUNK)


def ok(text: str, status: str = "200 OK") -> Reply:
    return Reply(body=text.encode(), status=status)


def gzip_bomb(inflated: int = 128 * 1024**2) -> Reply:
    """A gzip body of about 1/1000 of ``inflated`` bytes of "OK: 000…" once unpacked."""
    return Reply(
        body=_packed_zeros(inflated),
        headers={"Content-Type": "text/plain", "Content-Encoding": "gzip"},
    )


@functools.cache
def _packed_zeros(inflated: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip container
    block = b"0" * (1024 * 1024)
    parts = [packer.compress(b"OK: ")]
    parts += [packer.compress(block) for _ in range(inflated // len(block))]
    return b"".join([*parts, packer.flush()])


@dataclass
class Seen:
    """What one request sent, and how much of the answer went out before the client left."""

    request_line: str
    headers: dict[str, str]
    body: bytes
    sent: int = 0
    connection: int = 0


class HostileServer:
    """Serves ``reply`` to every request on 127.0.0.1 (port 0: a free one) until ``stop``.

    With ``tls`` (a server-side context) every connection is TLS and the URL is https.
    ``Seen.connection`` numbers the connections in the order they were accepted.
    """

    def __init__(self, reply: Reply | None = None, tls: ssl.SSLContext | None = None) -> None:
        self.reply = reply or Reply()
        self._tls = tls
        self._numbers = itertools.count()
        self.requests: list[Seen] = []
        self.closed: list[int] = []  # the connections this server has closed, by number
        self._stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self.base_url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, name="hostile-accept", daemon=True)
        self._accepting.start()

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopping.set()
        self._accepting.join(5)
        for thread in self._threads:
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
            number = next(self._numbers)
            thread = threading.Thread(target=self._serve, args=(conn, number), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, raw: socket.socket, number: int) -> None:
        if self._tls is None:
            conn = raw
        else:
            try:
                conn = self._tls.wrap_socket(raw, server_side=True)
            except OSError:  # the client refused the certificate
                raw.close()
                return
        with conn:
            conn.settimeout(0.5)
            while not self._stopping.is_set():
                seen = self._read_request(conn)
                if seen is None:
                    break
                seen.connection = number
                self.requests.append(seen)
                reply = self.reply
                if not self._answer(conn, reply, seen) or reply.close_after:
                    break
        self.closed.append(number)

    def _read_request(self, conn: socket.socket) -> Seen | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self._recv(conn)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for header in header_lines:
            name, _, value = header.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = self._recv(conn)
            if not chunk:
                return None
            body += chunk
        return Seen(line, headers, body)

    def _recv(self, conn: socket.socket) -> bytes:
        while not self._stopping.is_set():
            try:
                return conn.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return b""
        return b""

    def _answer(self, conn: socket.socket, reply: Reply, seen: Seen) -> bool:
        """Send ``reply``; False once the client hung up or the server is stopping."""
        if reply.drop:
            return False
        if reply.hang:
            self._stopping.wait()
            return False
        if reply.delay and self._stopping.wait(reply.delay):
            return False
        try:
            if reply.trickle is not None:
                for piece in (reply.head(), *reply.chunks(self._stopping)):
                    for index in range(len(piece)):
                        if self._stopping.wait(reply.trickle):
                            return False
                        conn.sendall(piece[index : index + 1])
                        seen.sent += 1
                return True
            conn.sendall(reply.head())
            for piece in reply.chunks(self._stopping):
                conn.sendall(piece)
                seen.sent += len(piece)
            if reply.size is None:
                return False
        except OSError:
            return False
        return not self._stopping.is_set()


def wait_for_requests(server: HostileServer, count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while len(server.requests) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def wait_for_closed(server: HostileServer, connection: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while connection not in server.closed and time.monotonic() < deadline:
        time.sleep(0.01)
