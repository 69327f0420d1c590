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
  For any other base URL they are read once, when the client is built (a new base URL
  builds a new client); netrc is never read.
* Each call is one request handed straight to the connection pool's adapter: no redirect is
  followed or prepared, no cookie is kept, and the per-call cost stays small enough for
  the local proxy to forward on loopback in a fraction of a millisecond.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
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
from tray_app.services.deadline import Deadline, guarded_pools

if TYPE_CHECKING:
    import requests

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 15.0
DEADLINE = 20.0
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = f"clickatell-session-tray/{__version__}"
FORM_TYPE = "application/x-www-form-urlencoded"
_CHUNK = 8192
_KNOWN_PATHS = 64


@dataclass(frozen=True, slots=True)
class RawAnswer:
    """An answer passed on as it came: status, body bytes and content type."""

    status: int
    body: bytes
    content_type: str


class ForwardFailed(Exception):
    """A forwarded call got no answer to pass on; the message says why, with no secret."""


class _Failed(Exception):
    """No usable answer: the description for a person, the raw detail for the log."""

    def __init__(self, description: str, raw: str = "") -> None:
        super().__init__(description)
        self.description = description
        self.raw = raw


def _new_session() -> requests.Session:
    """The session that holds the connection pools; requests go to its adapters directly.

    ``Session.send`` is not used: even with ``allow_redirects=False`` it reads (and
    decompresses) a redirect's whole body to prepare the next hop for ``Response.next``,
    so a 3xx with a 1 GiB or gzip-bomb body would bypass the cap; and its per-call work
    (merging settings, the environment and cookies) cost more than a loopback call itself.
    The adapter sends exactly one request and never follows a redirect.
    """
    import requests

    return requests.Session()


class ApiClient:
    """One connection pool to the API; every call is a form-encoded POST.

    ``pool_size`` is how many connections are kept for callers on several threads (the
    local proxy); 0 keeps the default.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        deadline: float = DEADLINE,
        max_bytes: int = MAX_RESPONSE_BYTES,
        pool_size: int = 0,
    ) -> None:
        import requests

        self.base_url = validate_base_url(base_url)
        self._timeout = (connect_timeout, read_timeout)
        self._deadline = deadline
        self._max_bytes = max_bytes
        self._http: requests.Session = _new_session()
        self._http.headers["User-Agent"] = USER_AGENT
        self._http.headers["Accept-Encoding"] = "identity"
        self._http.verify = True
        # No proxy from the environment for a server on this machine. The environment
        # (proxies, REQUESTS_CA_BUNDLE) is read once, here; netrc is never read.
        self._http.trust_env = not is_loopback_host(urlsplit(self.base_url).hostname)
        self._send_settings = self._http.merge_environment_settings(
            self.base_url, {}, True, None, None
        )
        if pool_size:
            for scheme in ("http://", "https://"):
                self._http.mount(scheme, requests.adapters.HTTPAdapter(pool_maxsize=pool_size))
        for adapter in self._http.adapters.values():
            manager = getattr(adapter, "poolmanager", None)
            if manager is not None:
                manager.pool_classes_by_scheme = guarded_pools()
        self._adapter = self._http.get_adapter(self.base_url)
        self._urls: dict[str, str] = {}

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

    def forward(self, path: str, form: bytes) -> RawAnswer:
        """POST an already encoded form to ``path`` and hand back the answer unparsed.

        For the local proxy: the same limits as every call (size, deadline, no
        compression), a failure raised as :class:`ForwardFailed`. Redirects are not
        followed: a 3xx comes back as the answer.
        """
        try:
            body, response = self._send(path, form, {"Content-Type": FORM_TYPE})
        except _Failed as failure:
            raise ForwardFailed(failure.description) from None
        content_type = response.headers.get("Content-Type", "text/plain")
        return RawAnswer(response.status_code, body, content_type)

    def close(self) -> None:
        self._http.close()

    def _post(self, command: Command, form: dict[str, str]) -> tuple[str, int]:
        try:
            body, response = self._send(f"/http/{command.value}", form)
        except _Failed as failure:
            raise ApiError(
                ErrorCategory.TRANSIENT, failure.description, command, raw=failure.raw
            ) from None
        return _decode(body, response.encoding), response.status_code

    def _send(
        self, path: str, data: dict[str, str] | bytes, headers: dict[str, str] | None = None
    ) -> tuple[bytes, requests.Response]:
        """One POST within the limits: the body read, or :class:`_Failed`."""
        import requests

        with Deadline(self._deadline) as deadline:
            try:
                request = self._prepared(path, data, headers)
                response = self._adapter.send(request, timeout=self._timeout, **self._send_settings)
                try:
                    body = self._read(response, deadline)
                finally:
                    response.close()
            except requests.exceptions.RequestException as exc:
                description = _transport_description(exc)
                if deadline.expired:
                    description = _too_slow(self._deadline)
                raise _Failed(description, type(exc).__name__) from None
        return body, response

    def _prepared(
        self, path: str, data: dict[str, str] | bytes, headers: dict[str, str] | None
    ) -> requests.PreparedRequest:
        """A POST to ``path``, its URL checked and encoded once per path, not once per call."""
        import requests

        request = requests.PreparedRequest()
        url = self._urls.get(path)
        if url is None:
            request.prepare_url(f"{self.base_url}{path}", None)
            url = str(request.url)
            if len(self._urls) < _KNOWN_PATHS:
                self._urls[path] = url
        request.method = "POST"
        request.url = url
        request.prepare_headers({**self._http.headers, **(headers or {})})
        request.prepare_body(data, None)
        return request

    def _read(self, response: requests.Response, deadline: Deadline) -> bytes:
        """At most ``max_bytes`` of the body, or :class:`_Failed`: too big, packed, too slow."""
        import requests
        import urllib3

        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise _Failed(
                "the server sent a compressed answer, which this app does not accept",
                encoding[:40],
            )
        chunks: list[bytes] = []
        size = 0
        try:
            while chunk := response.raw.read(_CHUNK, decode_content=False):
                size += len(chunk)
                if size > self._max_bytes:
                    raise _Failed(_too_big(self._max_bytes))
                chunks.append(chunk)
                if deadline.expired:
                    break
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise requests.exceptions.ReadTimeout(type(exc).__name__) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            # What urllib3 raises mid-body; requests wraps it only inside iter_content.
            raise requests.exceptions.ConnectionError(type(exc).__name__) from exc
        if deadline.expired:
            raise _Failed(_too_slow(self._deadline))
        return b"".join(chunks)


def _decode(body: bytes, encoding: str | None) -> str:
    try:
        return body.decode(encoding or "utf-8", errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def _too_big(max_bytes: int) -> str:
    return f"the server's answer was larger than {max_bytes // 1024} KiB"


def _too_slow(deadline: float) -> str:
    return f"the server did not answer within {deadline:g} s"


def _transport_description(exc: Exception) -> str:
    import requests

    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error: the server's certificate was not accepted"
    if isinstance(exc, requests.exceptions.Timeout):
        return "the server did not answer in time"
    if isinstance(exc, requests.exceptions.ConnectionError):
        # The words a person can act on: a mistyped host, a server that is not running.
        text = repr(exc)
        if any(mark in text for mark in _NAME_FAILURES):
            return "cannot reach the server: its host name does not resolve (check the base URL)"
        if "Connection refused" in text or "ConnectionRefusedError" in text:
            return "cannot reach the server: the connection was refused (is it running?)"
        return "cannot reach the server"
    return "the request failed"


_NAME_FAILURES = (
    "NameResolutionError",
    "Name or service not known",
    "Temporary failure in name resolution",
    "nodename nor servname",
    "getaddrinfo failed",
)
