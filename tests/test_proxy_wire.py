"""The local proxy's HTTP on the wire, byte for byte: keep-alive, HTTP/1.0, and refusals.

Raw sockets against a real proxy in front of the real simulator, so that each test chooses
every byte a client sends (what curl, Postman and the libraries never get wrong, and what a
broken or hostile client does). What the proxy does with a call (IDs, retries, caps on the
answer) is in ``test_proxy.py``; the parse itself, case by case, in ``test_http_reader.py``.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from tray_app.core.http_reader import MAX_HEADERS
from tray_app.qt.keeper import Keeper
from tray_app.qt.proxy import LocalProxy
from tray_app.qt.session_link import SessionLink


@pytest.fixture
def proxy(signed_in_keeper: Keeper) -> Iterator[LocalProxy]:
    server = LocalProxy(SessionLink(signed_in_keeper), signed_in_keeper.base_url).start()
    yield server
    server.stop()


class Wire:
    """One client connection to the proxy: send bytes, read whole answers."""

    def __init__(self, proxy: LocalProxy) -> None:
        self.token = proxy.token
        self.sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
        self.pending = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data.replace(b"TOKEN", self.token.encode()))

    def answer(self, *, bodyless: bool = False) -> tuple[str, dict[str, str], bytes]:
        """The next answer's status line, headers (lower-case names) and body (none to HEAD)."""
        while b"\r\n\r\n" not in self.pending:
            self._more()
        head, _, self.pending = self.pending.partition(b"\r\n\r\n")
        status, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
        length = 0 if bodyless else int(headers.get("content-length", "0"))
        while len(self.pending) < length:
            self._more()
        body, self.pending = self.pending[:length], self.pending[length:]
        return status, headers, body

    def closed_by_server(self) -> bool:
        try:
            return self.pending == b"" and self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {self.pending!r}")
        self.pending += chunk

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def wire(proxy: LocalProxy) -> Iterator[Wire]:
    client = Wire(proxy)
    yield client
    client.close()


def pings(keeper: Keeper) -> int:
    """Pings the simulator has answered, as its own stats page counts them."""
    stats = requests.get(f"{keeper.base_url}/sim/stats", timeout=10).json()
    return sum(stats.get("ping", {}).values())


PING = b"GET /TOKEN/http/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def test_keep_alive_serves_several_calls_on_one_connection(wire: Wire) -> None:
    for _ in range(3):
        wire.send(PING)
        status, headers, body = wire.answer()
        assert status == "HTTP/1.1 200 OK"
        assert body.startswith(b"OK: ")
        assert "connection" not in headers


def test_pipelined_calls_are_answered_in_order(wire: Wire) -> None:
    balance = b"POST /TOKEN/http/getbalance HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"
    wire.send(PING + balance + PING)
    bodies = [wire.answer()[2] for _ in range(3)]
    assert [body.split(b" ")[0] for body in bodies] == [b"OK:", b"Credit:", b"OK:"]


def test_connection_close_is_honoured(wire: Wire) -> None:
    wire.send(PING.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
    status, headers, _body = wire.answer()
    assert (status, headers["connection"]) == ("HTTP/1.1 200 OK", "close")
    assert wire.closed_by_server()


def test_http_1_0_closes_unless_asked_to_keep_alive(wire: Wire, proxy: LocalProxy) -> None:
    wire.send(b"GET /TOKEN/http/ping HTTP/1.0\r\n\r\n")
    status, _headers, body = wire.answer()
    assert status == "HTTP/1.1 200 OK" and body.startswith(b"OK: ")
    assert wire.closed_by_server()
    kept = Wire(proxy)
    try:
        for _ in range(2):
            kept.send(b"GET /TOKEN/http/ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            _status, headers, body = kept.answer()
            assert headers["connection"] == "keep-alive" and body.startswith(b"OK: ")
    finally:
        kept.close()


def test_expect_100_continue_gets_its_interim_answer_before_the_body(wire: Wire) -> None:
    body = b"msisdn=27999"
    wire.send(
        b"POST /TOKEN/http/getbalance HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    assert wire.answer()[0] == "HTTP/1.1 100 Continue"
    wire.send(body)
    status, _headers, answer = wire.answer()
    assert status == "HTTP/1.1 200 OK" and answer.startswith(b"Credit: ")


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /TOKEN/http/ping\r\n\r\n", "400 Bad Request"),
        (b"GET /TOKEN/http/ping HTTP/1.1\r\n\r\n", "400 Bad Request"),  # no Host
        (b"GET /TOKEN/http/ping HTTP/1.1\r\nHost : h\r\n\r\n", "400 Bad Request"),
        (b"GET /TOKEN/http/ping HTTP/2.0\r\nHost: h\r\n\r\n", "505 HTTP Version Not Supported"),
        (
            b"GET /TOKEN/" + b"a" * 9000 + b" HTTP/1.1\r\nHost: h\r\n\r\n",
            "414 Request-URI Too Long",
        ),
        (
            b"GET /TOKEN/http/ping HTTP/1.1\r\nHost: h\r\n"
            + b"".join(b"X-%d: 1\r\n" % n for n in range(MAX_HEADERS + 1))
            + b"\r\n",
            "431 Request Header Fields Too Large",
        ),
        (
            b"POST /TOKEN/http/ping HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nab=cd\r\n0\r\n\r\n",
            "411 Length Required",
        ),
        (
            b"POST /TOKEN/http/ping HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n"
            b"Content-Length: 2\r\n\r\nab",
            "400 Bad Request",
        ),
        (b"HEAD /TOKEN/http/ping HTTP/1.1\r\nHost: h\r\n\r\n", "405 Method Not Allowed"),
        (b"BREW /TOKEN/http/ping HTTP/1.1\r\nHost: h\r\n\r\n", "501 Not Implemented"),
    ],
    ids=[
        "no version",
        "no host",
        "space before colon",
        "HTTP/2.0",
        "long line",
        "too many headers",
        "chunked",
        "two lengths",
        "HEAD",
        "unknown method",
    ],
)
def test_a_refused_request_is_answered_closed_and_never_reaches_the_api(
    wire: Wire, signed_in_keeper: Keeper, request_bytes: bytes, status: str
) -> None:
    before = pings(signed_in_keeper)
    wire.send(request_bytes + PING)
    head = request_bytes.startswith(b"HEAD")
    answer_status, headers, body = wire.answer(bodyless=head)
    assert answer_status == f"HTTP/1.1 {status}"
    assert headers["connection"] == "close"
    assert body.startswith(b"proxy: ") or head
    assert wire.closed_by_server(), "the ping sent after a refused request was served"
    assert pings(signed_in_keeper) == before


def test_a_head_answer_has_no_body(wire: Wire) -> None:
    wire.send(b"HEAD /TOKEN/http/ping HTTP/1.1\r\nHost: h\r\n\r\n")
    _status, headers, _body = wire.answer(bodyless=True)
    assert int(headers["content-length"]) > 0
    assert wire.pending == b"" and wire.closed_by_server()


def test_the_token_is_checked_before_the_method(wire: Wire) -> None:
    wire.send(b"PUT /nottoken/http/ping HTTP/1.1\r\nHost: h\r\n\r\n")
    assert wire.answer()[0] == "HTTP/1.1 403 Forbidden"


def test_a_client_that_hangs_up_mid_request_leaves_the_proxy_serving(
    proxy: LocalProxy, wire: Wire
) -> None:
    wire.send(b"GET /TOKEN/http/pi")
    wire.close()
    with requests.Session() as http:
        http.trust_env = False
        host = urlsplit(proxy.url)
        answer = http.get(f"http://{host.netloc}{host.path}/http/ping", timeout=10)
    assert answer.text.startswith("OK: ")
