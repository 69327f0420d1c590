"""The local API proxy: tools call it without a session ID, and it puts the live one in.

It listens on 127.0.0.1 only, under a random per-launch token in the path, and passes
``/http/*`` and ``/utils/*`` on to the configured API over the app's own TLS-verifying
client (what it accepts and sends: :mod:`tray_app.core.proxy_rules`). Each connection is
served on a thread of its own; the keeper is reached through a :class:`SessionLink`.

* An answer that says the session is gone (003, 005, 001) makes the owner sign in again
  once, and the call is retried once with the new ID; concurrent calls share that one
  sign-in. Every other answer goes back as it came: status, body and content type (no
  other header, so a ``Location`` can lead no client elsewhere; redirects are never
  followed).
* Every call that the server took with the session counts as a ping for the owner.
* Caps: a request body of 64 KiB (413 above), an answer of 1 MiB (502 above).
* Nothing is logged with the token, the session ID or a password: the request line is
  never logged, and the token is registered with the log's secret filter.
* Answers of its own: 403 (wrong or missing token; nothing goes on), 404 (not an API
  path), 405, 411, 413, 415, 502 (no answer from the API) and 503 (no live session); and
  for a request that is not well-formed HTTP/1.1, what :mod:`tray_app.core.http_reader`
  says (400, 414, 431, 505), or 501 for a method it does not know.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import selectors
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from email.utils import formatdate
from http import HTTPStatus

from tray_app.core.http_reader import BadRequest, Request, read_request
from tray_app.core.http_serving import TrackedHTTPServer
from tray_app.core.os_threads import NamedThread
from tray_app.core.proxy_rules import (
    MAX_ANSWER_BODY,
    MAX_REQUEST_BODY,
    Proof,
    Refusal,
    Route,
    forwarded_form,
    route,
    what_it_proves,
)
from tray_app.core.redact import SECRET_FILTER, mask_text
from tray_app.qt.session_link import SessionLink
from tray_app.services.http_client import FORM_TYPE, ApiClient, ForwardFailed, RawAnswer

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
POOL_SIZE = 32
IDLE_CONNECTION_TIMEOUT = 30
SERVER_NAME = "ClickatellTrayProxy"
_TEXT = "text/plain; charset=utf-8"

ClientFactory = Callable[[str], ApiClient]


def _proxy_client(base_url: str) -> ApiClient:
    return ApiClient(base_url, pool_size=POOL_SIZE, max_bytes=MAX_ANSWER_BODY)


class LocalProxy:
    """The proxy server; ``start()`` serves on a daemon thread, ``stop()`` ends it at once."""

    def __init__(
        self,
        link: SessionLink,
        base_url: str,
        *,
        port: int = 0,
        token: str | None = None,
        client_factory: ClientFactory = _proxy_client,
    ) -> None:
        self.token = token or secrets.token_urlsafe(24)
        SECRET_FILTER.add_secret(self.token)
        self._link = link
        self._base_url = base_url
        self._client_factory = client_factory
        self._client: ApiClient | None = None
        self._client_lock = threading.Lock()
        self._server = _Server((HOST, port), self)
        self._wake_read, self._wake_write = socket.socketpair()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL to give tools, token included: a secret of this launch."""
        return f"http://{HOST}:{self.port}/{self.token}"

    def start(self) -> LocalProxy:
        if self._thread is None:
            self._thread = NamedThread(target=self._loop, name="local-proxy", daemon=True)
            self._thread.start()
            log.info("local API proxy on %s:%d", HOST, self.port)
        return self

    def stop(self) -> None:
        """Stop listening and cut every open connection; safe to call twice."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_write.send(b"x")
        if self._thread is not None:
            self._thread.join(5)
        self._server.close_connections()
        self._server.server_close()
        self._wake_read.close()
        self._wake_write.close()
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def set_base_url(self, base_url: str) -> None:
        """Calls from now on go to ``base_url``."""
        with self._client_lock:
            if base_url == self._base_url:
                return
            self._base_url = base_url
            old, self._client = self._client, None
        if old is not None:
            old.close()

    def forward(self, where: Route, form: bytes) -> RawAnswer:
        """Send one call on with the live ID; renew once and retry once if the ID is dead."""
        session_id = self._link.live_id()
        if session_id is None:
            state = self._link.snapshot.state.value
            return _own_answer(503, f"no live session ({state}): sign in first")
        answer, proof = self._call(where, form, session_id)
        if proof is Proof.GONE:
            renewed = self._link.renewed(session_id)
            if renewed is not None:
                answer, _proof = self._call(where, form, renewed)
        return answer

    def _call(self, where: Route, form: bytes, session_id: str) -> tuple[RawAnswer, Proof]:
        body = forwarded_form(where.query, form, session_id)
        sent_at = self._link.clock.wall()
        started = time.perf_counter()
        try:
            answer = self._api().forward(where.path, body)
        except ForwardFailed as exc:
            log.warning("proxied %s: %s", where.path, exc)
            return _own_answer(502, str(exc)), Proof.NOTHING
        proof = what_it_proves(answer.status, answer.body)
        if proof is Proof.USED:
            self._link.used(session_id, sent_at)
        log.debug(
            "proxied %s: HTTP %d, %s, %.1f ms",
            where.path,
            answer.status,
            proof.value,
            (time.perf_counter() - started) * 1000,
        )
        return answer, proof

    def _api(self) -> ApiClient:
        with self._client_lock:
            if self._client is None:
                self._client = self._client_factory(self._base_url)
            return self._client

    def _loop(self) -> None:
        """Accept connections until ``stop()``; sleeps in select, so an idle proxy costs nothing."""
        with selectors.DefaultSelector() as selector:
            selector.register(self._server.socket, selectors.EVENT_READ)
            selector.register(self._wake_read, selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _events in selector.select():
                    if key.fileobj is self._server.socket and not self._stopping.is_set():
                        self._server.handle_request()


def _own_answer(status: int, text: str) -> RawAnswer:
    return RawAnswer(status, f"proxy: {text}\n".encode(), _TEXT)


class _Server(TrackedHTTPServer):
    """Loopback only; ``timeout = 0`` because the proxy's own loop waits in select."""

    timeout = 0
    connection_thread_name = "proxy-connection"

    def __init__(self, address: tuple[str, int], proxy: LocalProxy) -> None:
        self.proxy = proxy
        super().__init__(address, _Handler)


class _Handler(socketserver.StreamRequestHandler):
    """HTTP/1.1 with keep-alive, as Postman and curl expect; Nagle off (see the simulator).

    The request is read by :mod:`tray_app.core.http_reader`: ``http.server`` parses the
    headers with ``email.parser``, a measurable part of a proxied call on loopback. Each
    answer leaves in one send: status line, headers and body.
    """

    timeout = IDLE_CONNECTION_TIMEOUT
    disable_nagle_algorithm = True
    server: _Server

    def handle(self) -> None:
        """Serve requests on this connection until one says close, is refused or it idles."""
        with contextlib.suppress(OSError):
            while True:
                try:
                    request = read_request(self.rfile)
                    if request is None or not self._serve(request):
                        return
                except BadRequest as bad:
                    self._answer(_own_answer(bad.status, bad.reason), close=True)
                    return

    def _serve(self, request: Request) -> bool:
        """Answer one request; True if the connection is kept for the next."""
        proxy = self.server.proxy
        where = route(request.target, proxy.token)
        if isinstance(where, Refusal):
            return self._refuse(request, where)
        if request.method not in _SERVED_METHODS:
            status = 405 if request.method in _KNOWN_METHODS else 501
            refusal = Refusal(status, "use GET or POST")
            return self._refuse(request, refusal, {"Allow": "GET, POST"})
        length = request.content_length(MAX_REQUEST_BODY)
        if length and request.method == "POST" and _content_type(request) != FORM_TYPE:
            return self._refuse(request, Refusal(415, f"send the parameters as {FORM_TYPE}"))
        if length and request.expects_continue and request.version == "HTTP/1.1":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            return False
        keep = request.keep_alive
        answer = proxy.forward(where, body if request.method == "POST" else b"")
        self._answer(answer, request, close=not keep)
        return keep

    def _refuse(
        self, request: Request, refusal: Refusal, headers: dict[str, str] | None = None
    ) -> bool:
        """Answer without reading what may follow, so the connection cannot be reused."""
        self._answer(_own_answer(refusal.status, refusal.reason), request, headers, close=True)
        return False

    def _answer(
        self,
        answer: RawAnswer,
        request: Request | None = None,
        headers: dict[str, str] | None = None,
        *,
        close: bool,
    ) -> None:
        lines = [
            f"HTTP/1.1 {answer.status} {_PHRASES.get(answer.status, '')}".rstrip(),
            f"Server: {SERVER_NAME}",
            f"Date: {formatdate(usegmt=True)}",
            f"Content-Type: {answer.content_type}",
            f"Content-Length: {len(answer.body)}",
            *(f"{key}: {value}" for key, value in (headers or {}).items()),
        ]
        if close:
            lines.append("Connection: close")
        elif request is not None and request.version == "HTTP/1.0":
            lines.append("Connection: keep-alive")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        with_body = request is None or request.method != "HEAD"
        self.wfile.write(head + answer.body if with_body else head)
        if request is not None and log.isEnabledFor(logging.DEBUG):
            target = mask_text(request.target, (self.server.proxy.token,))
            log.debug("proxy: %s %s: HTTP %d", request.method, target, answer.status)


_SERVED_METHODS = frozenset({"GET", "POST"})
_KNOWN_METHODS = frozenset({"HEAD", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"})
_PHRASES = {status.value: status.phrase for status in HTTPStatus}


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").partition(";")[0].strip().lower()
