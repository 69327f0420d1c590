"""The HTTP client for the legacy API: one connection pool, form-encoded POSTs, TLS verified.

``requests`` is imported when the first client is built, not with this module,
so that the tray can show itself before paying for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    import requests

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 15.0
USER_AGENT = f"clickatell-session-tray/{__version__}"


class ApiClient:
    """One connection pool to the API; every call is a form-encoded POST."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        import requests

        self.base_url = validate_base_url(base_url)
        self._timeout = (connect_timeout, read_timeout)
        self._http: requests.Session = requests.Session()
        self._http.headers["User-Agent"] = USER_AGENT
        self._http.verify = True

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

        try:
            response = self._http.post(
                f"{self.base_url}/http/{command.value}",
                data=form,
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.exceptions.RequestException as exc:
            raise ApiError(
                ErrorCategory.TRANSIENT,
                _transport_description(exc),
                command,
                raw=type(exc).__name__,
            ) from None
        return response.text, response.status_code


def _transport_description(exc: Exception) -> str:
    import requests

    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error: the server's certificate was not accepted"
    if isinstance(exc, requests.exceptions.Timeout):
        return "the server did not answer in time"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "cannot reach the server"
    return "the request failed"
