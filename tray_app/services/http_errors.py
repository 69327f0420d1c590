"""What a failed HTTP call tells a person: urllib3's exceptions in words they can act on.

The client sends on the connection pool that ``requests``' adapter resolved for it, so the
exceptions are urllib3's; this sorts them the way ``HTTPAdapter.send`` does (a connect
timeout that is not a refused connection, a proxy, TLS, a read timeout, anything else on
the way counts as not reaching the server) and names the cause in one line.
"""

from __future__ import annotations

TLS_ERROR = "TLS error: the server's certificate was not accepted"
TIMED_OUT = "the server did not answer in time"
CANNOT_REACH = "cannot reach the server"
NO_SUCH_HOST = "cannot reach the server: its host name does not resolve (check the base URL)"
REFUSED = "cannot reach the server: the connection was refused (is it running?)"
FAILED = "the request failed"
BAD_CA_BUNDLE = (
    "the CA bundle named by REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE cannot be read; "
    "fix the path or unset it"
)
BAD_PROXY = (
    "the proxy set in the environment (HTTPS_PROXY, HTTP_PROXY or ALL_PROXY) is not a usable "
    "URL; fix it or unset it"
)

_NAME_FAILURES = (
    "NameResolutionError",
    "Name or service not known",
    "Temporary failure in name resolution",
    "nodename nor servname",
    "getaddrinfo failed",
)


def transport_description(exc: BaseException) -> str:
    """One line for a failure raised by ``pool.urlopen`` or while reading the body."""
    from urllib3 import exceptions as e

    if isinstance(exc, e.MaxRetryError):
        reason = exc.reason
        if isinstance(reason, e.ConnectTimeoutError) and not isinstance(
            reason, e.NewConnectionError
        ):
            return TIMED_OUT
        if isinstance(reason, e.SSLError):
            return TLS_ERROR
        return _unreachable(exc)
    if isinstance(exc, e.SSLError):
        return TLS_ERROR
    if isinstance(exc, e.ReadTimeoutError):
        return TIMED_OUT
    if isinstance(exc, (e.ClosedPoolError, e.ProxyError, e.ProtocolError, OSError)):
        return _unreachable(exc)
    return FAILED


def setup_description(exc: BaseException) -> str:
    """One line for a client the environment's settings keep from being set up.

    Neither the proxy URL (it may hold a password) nor the path is quoted: the variable's
    name is what the person needs to find it.
    """
    from requests.exceptions import InvalidProxyURL
    from urllib3 import exceptions as e

    if isinstance(exc, (e.ProxySchemeUnknown, InvalidProxyURL)):
        return BAD_PROXY
    if isinstance(exc, OSError) and "CA certificate bundle" in str(exc):
        return BAD_CA_BUNDLE
    return f"{FAILED}: {type(exc).__name__}"


def _unreachable(exc: BaseException) -> str:
    """The words a person can act on: a mistyped host, a server that is not running."""
    text = repr(exc)
    if any(mark in text for mark in _NAME_FAILURES):
        return NO_SUCH_HOST
    if "Connection refused" in text or "ConnectionRefusedError" in text:
        return REFUSED
    return CANNOT_REACH
