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
  path), 405, 411, 413, 415, 502 (no answer from the API) and 503 (no live session).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import selectors
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from tray_app.core.http_serving import TrackedHTTPServer
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
            self._thread = threading.Thread(target=self._loop, name="local-proxy", daemon=True)
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

    def __init__(self, address: tuple[str, int], proxy: LocalProxy) -> None:
        self.proxy = proxy
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive, as Postman and curl expect; Nagle off (see the simulator)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    # Buffered: the status line, the headers and the body leave in one send, flushed by
    # BaseHTTPRequestHandler after each request.
    wbufsize = 64 * 1024
    server_version = "ClickatellTrayProxy"
    timeout = IDLE_CONNECTION_TIMEOUT
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._refuse(Refusal(405, "use GET or POST"), {"Allow": "GET, POST"})

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """Replace the stderr access log: the request line carries the token."""
        if log.isEnabledFor(logging.DEBUG):
            log.debug("proxy: %s", mask_text(format % args, (self.server.proxy.token,)))

    def _serve(self) -> None:
        proxy = self.server.proxy
        where = route(self.path, proxy.token)
        if isinstance(where, Refusal):
            self._refuse(where)
            return
        form = self._form()
        if form is None:
            return
        self._answer(proxy.forward(where, form))

    def _form(self) -> bytes | None:
        """The POST body within the cap, or None after refusing it."""
        if self.command != "POST":
            return b""
        if "Transfer-Encoding" in self.headers:
            self._refuse(Refusal(411, "send a Content-Length"))
            return None
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_REQUEST_BODY:
            self._refuse(Refusal(413, f"the body must be at most {MAX_REQUEST_BODY // 1024} KiB"))
            return None
        content_type = self.headers.get_content_type()
        if length and content_type != FORM_TYPE:
            self._refuse(Refusal(415, f"send the parameters as {FORM_TYPE}"))
            return None
        return self.rfile.read(length)

    def _refuse(self, refusal: Refusal, headers: dict[str, str] | None = None) -> None:
        """Answer without reading what may follow, so the connection cannot be reused."""
        self.close_connection = True
        self._answer(_own_answer(refusal.status, refusal.reason), headers)

    def _answer(self, answer: RawAnswer, headers: dict[str, str] | None = None) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)
