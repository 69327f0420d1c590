"""The HTTP client for the legacy API: kept-alive connections, form-encoded POSTs, TLS verified.

Two ways to the API, one set of rules. An ``https://`` base URL goes over ``requests``
(:mod:`requests_transport`: TLS verified, proxies from the environment honoured); a plain
``http://`` one, which the base-URL policy allows only for a server on this machine (the
simulator), over ``http.client`` (:mod:`loopback_http`), because requests costs more per
call than the whole call on loopback and brings nothing such a server needs. Whatever
brought an answer, :mod:`http_limits` holds it to the same limits (the README's "Limits"
says the same):

* An answer is read as a stream and at most ``MAX_RESPONSE_BYTES`` (64 KiB) of it is kept;
  a longer one is dropped with its connection and counts as a transient error. Compression
  is refused (``Accept-Encoding: identity``, and an answer that is compressed anyway is a
  transient error), so a small body can never inflate to gigabytes.
* Every request has a total deadline, ``DEADLINE`` (20 s) from the moment it is sent, on top
  of the per-step connect and read timeouts. A watchdog shuts the connection's socket when
  it passes (:mod:`deadline`), so a server trickling a byte a second, in its headers or its
  body, cannot hold a call past it; the call then fails as a transient "did not answer in
  time".
* Redirects are never followed, and no cookie is kept.
* Proxies from the environment (``http_proxy`` and friends) are never used for a loopback
  base URL: a proxy would receive the credentials of a plain-http local server in the clear.
  For any other base URL they are read once, when the client is built (a new base URL
  builds a new client); netrc is never read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode, urlsplit

from tray_app import __version__
from tray_app.core.protocol import (
    DEFAULT_BASE_URL,
    ApiError,
    Command,
    ErrorCategory,
    parse_balance_answer,
    parse_session_answer,
    validate_base_url,
)
from tray_app.services.deadline import Deadline
from tray_app.services.http_limits import Failed, Reply, body_within, charset, decode, too_slow

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 15.0
DEADLINE = 20.0
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = f"clickatell-session-tray/{__version__}"
FORM_TYPE = "application/x-www-form-urlencoded"
HEADERS = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", "Accept": "*/*"}
DIRECT_LOOPBACK = True
"""False sends plain-http (loopback) calls over requests too; the hostile-server tests run
both ways, so that both are held to the same limits."""


@dataclass(frozen=True, slots=True)
class RawAnswer:
    """An answer passed on as it came: status, body bytes and content type."""

    status: int
    body: bytes
    content_type: str


class ForwardFailed(Exception):
    """A forwarded call got no answer to pass on; the message says why, with no secret."""


class Transport(Protocol):
    """One way to the API: send a POST, get its answer's head (or :class:`Failed`)."""

    def post(self, path: str, body: bytes | str, headers: dict[str, str]) -> Reply: ...

    def close(self) -> None: ...


class ApiClient:
    """Kept-alive connections to the API; every call is a form-encoded POST.

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
        self.base_url = validate_base_url(base_url)
        self._deadline = deadline
        self._max_bytes = max_bytes
        self.transport = _transport(self.base_url, (connect_timeout, read_timeout), pool_size)

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
            body, status, content_type = self._send(path, form)
        except Failed as failure:
            raise ForwardFailed(failure.description) from None
        return RawAnswer(status, body, content_type or "text/plain")

    def close(self) -> None:
        self.transport.close()

    def _post(self, command: Command, form: dict[str, str]) -> tuple[str, int]:
        try:
            body, status, content_type = self._send(f"/http/{command.value}", urlencode(form))
        except Failed as failure:
            raise ApiError(
                ErrorCategory.TRANSIENT, failure.description, command, raw=failure.raw
            ) from None
        return decode(body, charset(content_type)), status

    def _send(self, path: str, form: bytes | str) -> tuple[bytes, int, str | None]:
        """One POST within the limits: the body, status and content type, or :class:`Failed`."""
        with Deadline(self._deadline) as deadline:
            try:
                reply = self.transport.post(path, form, {"Content-Type": FORM_TYPE})
                try:
                    body = body_within(reply, deadline, self._max_bytes, self._deadline)
                finally:
                    reply.close()
            except Failed as failure:
                if deadline.expired:
                    raise Failed(too_slow(self._deadline), failure.raw) from None
                raise
        return body, reply.status, reply.content_type


def _transport(base_url: str, timeout: tuple[float, float], pool_size: int) -> Transport:
    parts = urlsplit(base_url)
    if parts.scheme == "http" and DIRECT_LOOPBACK:
        from tray_app.services.loopback_http import LoopbackTransport

        host = parts.hostname or "127.0.0.1"
        return LoopbackTransport(host, parts.port or 80, parts.path, HEADERS, timeout, pool_size)
    from tray_app.services.requests_transport import RequestsTransport

    return RequestsTransport(base_url, HEADERS, timeout, pool_size)
