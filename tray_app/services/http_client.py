"""The HTTP client for the legacy API: one connection pool, form-encoded POSTs, TLS verified.

``requests`` is imported when the first client is built, not with this module,
so that the tray can show itself before paying for it.

Limits, so that no server can hold or swamp the app (the README's "Limits" says the same):

* An answer is read as a stream and at most ``MAX_RESPONSE_BYTES`` (64 KiB) of it is kept;
  a longer one is dropped with its connection and counts as a transient error. Compression
  is refused (``Accept-Encoding: identity``, and an answer that is compressed anyway is a
  transient error), so a small body can never inflate to gigabytes.
* Every request has a total deadline, ``DEADLINE`` (20 s) from the moment it is sent, on top
  of the per-step connect and read timeouts. A watchdog shuts the connection's socket when
  it passes, so a server trickling a byte a second, in its headers or its body, cannot hold
  a call past it; the call then fails as a transient "did not answer in time".
* Proxies from the environment (``http_proxy`` and friends) are never used for a loopback
  base URL: a proxy would receive the credentials of a plain-http local server in the clear.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tray_app import __version__
from tray_app.core.protocol import (
    DEFAULT_BASE_URL,
    ApiError,
    Command,
    ErrorCategory,
    is_loopback_host,
    parse_balance_answer,
    parse_session_answer,
    validate_base_url,
)

if TYPE_CHECKING:
    import requests

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 15.0
DEADLINE = 20.0
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = f"clickatell-session-tray/{__version__}"
_CHUNK = 8192


class _Deadline:
    """Shuts the socket of the request under way on this thread once the deadline passes."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        _current.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._timer.cancel()
        _current.deadline = None

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    """Wake a thread blocked reading ``sock``: the plain socket's shutdown, TLS or not."""
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Current(threading.local):
    deadline: _Deadline | None = None


_current = _Current()


def _guarded_pools() -> dict[str, type[Any]]:
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


class ApiClient:
    """One connection pool to the API; every call is a form-encoded POST."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        deadline: float = DEADLINE,
        max_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        import requests

        self.base_url = validate_base_url(base_url)
        self._timeout = (connect_timeout, read_timeout)
        self._deadline = deadline
        self._max_bytes = max_bytes
        self._http: requests.Session = requests.Session()
        self._http.headers["User-Agent"] = USER_AGENT
        self._http.headers["Accept-Encoding"] = "identity"
        self._http.verify = True
        # No proxy (nor netrc) from the environment for a server on this machine.
        self._http.trust_env = not is_loopback_host(urlsplit(self.base_url).hostname)
        for adapter in self._http.adapters.values():
            manager = getattr(adapter, "poolmanager", None)
            if manager is not None:
                manager.pool_classes_by_scheme = _guarded_pools()

    def auth(self, api_id: str, user: str, password: str) -> str:
        body, status = self._post(
            Command.AUTH, {"api_id": api_id, "user": user, "password": password}
        )
        return parse_session_answer(Command.AUTH, body, status)

    def ping(self, session_id: str) -> str:
        body, status = self._post(Command.PING, {"session_id": session_id})
        return parse_session_answer(Command.PING, body, status, sent_session_id=session_id)

    def balance(self, session_id: str) -> float:
        """The account's credit; like any call with the session ID, it keeps the session alive."""
        body, status = self._post(Command.BALANCE, {"session_id": session_id})
        return parse_balance_answer(body, status)

    def close(self) -> None:
        self._http.close()

    def _post(self, command: Command, form: dict[str, str]) -> tuple[str, int]:
        import requests

        with _Deadline(self._deadline) as deadline:
            try:
                response = self._http.post(
                    f"{self.base_url}/http/{command.value}",
                    data=form,
                    timeout=self._timeout,
                    allow_redirects=False,
                    stream=True,
                )
                try:
                    body = self._read(response, deadline, command)
                finally:
                    response.close()
            except requests.exceptions.RequestException as exc:
                description = _transport_description(exc)
                if deadline.expired:
                    description = _too_slow(self._deadline)
                raise ApiError(
                    ErrorCategory.TRANSIENT, description, command, raw=type(exc).__name__
                ) from None
        return _decode(body, response.encoding), response.status_code

    def _read(self, response: requests.Response, deadline: _Deadline, command: Command) -> bytes:
        """At most ``max_bytes`` of the body, or a transient error: too big, packed, too slow."""
        import requests
        import urllib3

        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise ApiError(
                ErrorCategory.TRANSIENT,
                "the server sent a compressed answer, which this app does not accept",
                command,
                raw=encoding[:40],
            )
        chunks: list[bytes] = []
        size = 0
        try:
            while chunk := response.raw.read(_CHUNK, decode_content=False):
                size += len(chunk)
                if size > self._max_bytes:
                    raise ApiError(
                        ErrorCategory.TRANSIENT,
                        f"the server's answer was larger than {self._max_bytes // 1024} KiB",
                        command,
                    )
                chunks.append(chunk)
                if deadline.expired:
                    break
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise requests.exceptions.ReadTimeout(type(exc).__name__) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            # What urllib3 raises mid-body; requests wraps it only inside iter_content.
            raise requests.exceptions.ConnectionError(type(exc).__name__) from exc
        if deadline.expired:
            raise ApiError(ErrorCategory.TRANSIENT, _too_slow(self._deadline), command)
        return b"".join(chunks)


def _decode(body: bytes, encoding: str | None) -> str:
    try:
        return body.decode(encoding or "utf-8", errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def _too_slow(deadline: float) -> str:
    return f"the server did not answer within {deadline:g} s"


def _transport_description(exc: Exception) -> str:
    import requests

    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error: the server's certificate was not accepted"
    if isinstance(exc, requests.exceptions.Timeout):
        return "the server did not answer in time"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "cannot reach the server"
    return "the request failed"
