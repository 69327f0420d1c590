"""The HTTP client for the legacy API: one connection pool, form-encoded POSTs, TLS verified.

``requests`` is imported when the first client is built, not with this module,
so that the tray can show itself before paying for it.

Limits, so that no server can hold or swamp the app (the README's "Limits" says the same):

* An answer is read as a stream and at most ``MAX_RESPONSE_BYTES`` (64 KiB) of it is kept;
  a longer one is dropped with its connection and counts as a transient error. Compression
  is refused (``Accept-Encoding: identity``, and an answer that is compressed anyway is a
  transient error), so a small body can never inflate to gigabytes.
* Every request has a total deadline, ``DEADLINE`` (20 s) from the moment it is sent, on top
  of the per-step connect and read timeouts. Each socket operation waits at most the time
  left to it (``services/deadline.py``), so a server trickling a byte a second, in its
  headers or its body, cannot hold a call past it; the call then fails as a transient "did
  not answer in time".
* Proxies from the environment (``http_proxy`` and friends) are never used for a loopback
  base URL: a proxy would receive the credentials of a plain-http local server in the clear.
  For any other base URL they are read once, when the client is built (a new base URL
  builds a new client); netrc is never read.
* Each call is one request on the connection pool that ``requests``' adapter chose for the
  base URL (its TLS context, CA bundle and proxy), with the adapter's retry policy: no
  redirect is followed or prepared, no cookie is kept. The adapter's per-call work (picking
  that pool, checking the CA bundle, building a ``Response``) is done once per client, so
  the local proxy forwards on loopback in a fraction of a millisecond.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

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
from tray_app.services.http_errors import setup_description, transport_description

if TYPE_CHECKING:
    import requests
    import urllib3

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
    Each call goes to the pool the adapter resolves once (:meth:`ApiClient._route`): one
    request, never a redirect followed.
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
        import urllib3

        self.base_url = validate_base_url(base_url)
        self._timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
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
        adapter = self._http.get_adapter(self.base_url)
        assert isinstance(adapter, requests.adapters.HTTPAdapter)  # what a Session mounts
        self._adapter = adapter
        # Every call's headers: the session's defaults (User-Agent, Accept-Encoding identity,
        # Accept, keep-alive) and the form's type; each call adds its Content-Length.
        self._headers = {**self._http.headers, "Content-Type": FORM_TYPE}
        self._pool: urllib3.HTTPConnectionPool | None = None
        self._routes: dict[str, tuple[urllib3.HTTPConnectionPool, str]] = {}

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
            body, response = self._send(path, form)
        except _Failed as failure:
            raise ForwardFailed(failure.description) from None
        content_type = response.headers.get("Content-Type", "text/plain")
        return RawAnswer(response.status, body, content_type)

    def close(self) -> None:
        self._http.close()

    def _post(self, command: Command, form: dict[str, str]) -> tuple[str, int]:
        try:
            body, response = self._send(f"/http/{command.value}", form)
        except _Failed as failure:
            raise ApiError(
                ErrorCategory.TRANSIENT, failure.description, command, raw=failure.raw
            ) from None
        from requests.utils import get_encoding_from_headers

        # It reads the Content-Type with .get, which urllib3's headers have too.
        encoding = get_encoding_from_headers(response.headers)  # type: ignore[arg-type]
        return _decode(body, encoding), response.status

    def _send(
        self, path: str, data: dict[str, str] | bytes, headers: dict[str, str] | None = None
    ) -> tuple[bytes, urllib3.BaseHTTPResponse]:
        """One POST within the limits: the body read, or :class:`_Failed`."""
        import urllib3

        body = data if isinstance(data, bytes) else urlencode(data).encode("ascii")
        sent_headers = {**self._headers, **(headers or {}), "Content-Length": str(len(body))}
        with Deadline(self._deadline) as deadline:
            try:
                pool, url = self._route(path)
                response = pool.urlopen(
                    "POST",
                    url,
                    body=body,
                    headers=sent_headers,
                    retries=self._adapter.max_retries,
                    timeout=self._timeout,
                    redirect=False,
                    assert_same_host=False,
                    preload_content=False,
                    decode_content=False,
                    chunked=False,
                )
                try:
                    answer = self._read(response, deadline)
                finally:
                    # A body read to its end gave the connection back already; any other
                    # is closed, so nothing unread is left on a connection the pool reuses.
                    response.close()
                    response.release_conn()
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                description = transport_description(exc)
                if deadline.expired:
                    description = _too_slow(self._deadline)
                raise _Failed(description, type(exc).__name__) from None
        return answer, response

    def _route(self, path: str) -> tuple[urllib3.HTTPConnectionPool, str]:
        """The pool and the request target for ``path``, worked out by the adapter once.

        What ``HTTPAdapter.send`` does on every call (the pool for these TLS settings and
        proxies, the CA bundle, the URL a proxy needs) depends only on the base URL, which
        a client never changes, so it is done for the first call and the paths kept.
        """
        route = self._routes.get(path)
        if route is not None:
            return route
        import requests
        import urllib3

        settings = self._send_settings
        request = requests.PreparedRequest()
        request.prepare(method="POST", url=f"{self.base_url}{path}")
        try:
            pool = self._pool
            if pool is None:
                self._guard_proxy_pools(request.url, settings["proxies"])
                pool = self._adapter.get_connection_with_tls_context(
                    request, settings["verify"], settings["proxies"], settings["cert"]
                )
                self._adapter.cert_verify(pool, self.base_url, settings["verify"], settings["cert"])
                self._pool = pool
            route = pool, self._adapter.request_url(request, settings["proxies"])
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            # A malformed proxy in the environment, a CA bundle that is not there.
            raise _Failed(setup_description(exc), type(exc).__name__) from None
        if len(self._routes) < _KNOWN_PATHS:
            self._routes[path] = route
        return route

    def _guard_proxy_pools(self, url: str | None, proxies: dict[str, str]) -> None:
        """Pools through an HTTP proxy from the environment keep to the deadline too.

        The adapter makes a proxy's manager when it is first asked for it; made here first,
        its pools are the guarded ones. A SOCKS manager keeps its own pool classes.
        """
        from requests.utils import prepend_scheme_if_needed, select_proxy

        proxy = select_proxy(url or self.base_url, proxies)
        if proxy and not proxy.lower().startswith("socks"):
            manager = self._adapter.proxy_manager_for(prepend_scheme_if_needed(proxy, "http"))
            manager.pool_classes_by_scheme = guarded_pools()

    def _read(self, response: urllib3.BaseHTTPResponse, deadline: Deadline) -> bytes:
        """At most ``max_bytes`` of the body, or :class:`_Failed`: too big, packed, too slow."""
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
            while chunk := response.read(_CHUNK, decode_content=False):
                size += len(chunk)
                if size > self._max_bytes:
                    raise _Failed(_too_big(self._max_bytes))
                chunks.append(chunk)
        except urllib3.exceptions.ReadTimeoutError:
            raise
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            # Cut off mid-body: the server went away, whatever urllib3 calls it.
            raise urllib3.exceptions.ProtocolError(type(exc).__name__) from exc
        if deadline.expired:  # a timeout swallowed on the way up still says why
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
