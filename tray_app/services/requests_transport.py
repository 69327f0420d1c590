"""Calls over requests: for the API on the network, with TLS verified and proxies honoured.

``requests`` is imported when the first transport is built, not with this module, so
that the tray can show itself before paying for it.

``Session.send`` is not used: even with ``allow_redirects=False`` it reads (and
decompresses) a redirect's whole body to prepare the next hop for ``Response.next``, so a
3xx with a 1 GiB or gzip-bomb body would bypass the cap; and its per-call work (merging
settings, the environment and cookies) costs more than a loopback call itself. Each call
is one prepared request handed to the session's adapter, which never follows a redirect
and keeps no cookie. Proxies from the environment (never for a loopback host) and
``REQUESTS_CA_BUNDLE`` are read once, when the transport is built; netrc is never read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tray_app.core.protocol import is_loopback_host
from tray_app.services.deadline import guarded_pools
from tray_app.services.http_limits import (
    FAILED,
    NO_SUCH_HOST,
    REFUSED,
    TIMED_OUT,
    TLS_REFUSED,
    UNREACHABLE,
    Failed,
    Reply,
)

if TYPE_CHECKING:
    import requests

_KNOWN_PATHS = 64


class RequestsTransport:
    """One requests session (its connection pools) to ``base_url``."""

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str],
        timeout: tuple[float, float],
        pool_size: int,
    ) -> None:
        import requests

        self.base_url = base_url
        self._timeout = timeout
        self._http = requests.Session()
        self._http.headers.update(headers)
        self._http.verify = True
        # No proxy from the environment for a server on this machine.
        self._http.trust_env = not is_loopback_host(urlsplit(base_url).hostname)
        self._send_settings = self._http.merge_environment_settings(base_url, {}, True, None, None)
        if pool_size:
            for scheme in ("http://", "https://"):
                self._http.mount(scheme, requests.adapters.HTTPAdapter(pool_maxsize=pool_size))
        for adapter in self._http.adapters.values():
            manager = getattr(adapter, "poolmanager", None)
            if manager is not None:
                manager.pool_classes_by_scheme = guarded_pools()
        self._adapter = self._http.get_adapter(base_url)
        self._urls: dict[str, str] = {}

    def post(self, path: str, body: bytes | str, headers: dict[str, str]) -> Reply:
        """Send one POST; its answer's head, or :class:`Failed`."""
        import requests

        try:
            request = self._prepared(path, body, headers)
            response = self._adapter.send(request, timeout=self._timeout, **self._send_settings)
        except requests.exceptions.RequestException as exc:
            raise Failed(_description(exc), type(exc).__name__) from None
        return Reply(
            response.status_code,
            response.headers.get("Content-Type"),
            response.headers.get("Content-Encoding"),
            lambda size: _read(response, size),
            response.close,
        )

    def close(self) -> None:
        self._http.close()

    def _prepared(
        self, path: str, body: bytes | str, headers: dict[str, str]
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
        request.prepare_headers({**self._http.headers, **headers})
        request.prepare_body(body, None)
        return request


def _read(response: Any, size: int) -> bytes:
    """Body bytes as sent (never decompressed); urllib3's errors said as requests' would be."""
    import urllib3

    try:
        return bytes(response.raw.read(size, decode_content=False))
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise Failed(TIMED_OUT, type(exc).__name__) from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise Failed(UNREACHABLE, type(exc).__name__) from None


def _description(exc: Exception) -> str:
    import requests

    if isinstance(exc, requests.exceptions.SSLError):
        return TLS_REFUSED
    if isinstance(exc, requests.exceptions.Timeout):
        return TIMED_OUT
    if isinstance(exc, requests.exceptions.ConnectionError):
        # The words a person can act on: a mistyped host, a server that is not running.
        text = repr(exc)
        if any(mark in text for mark in _NAME_FAILURES):
            return NO_SUCH_HOST
        if "Connection refused" in text or "ConnectionRefusedError" in text:
            return REFUSED
        return UNREACHABLE
    return FAILED


_NAME_FAILURES = (
    "NameResolutionError",
    "Name or service not known",
    "Temporary failure in name resolution",
    "nodename nor servname",
    "getaddrinfo failed",
)
