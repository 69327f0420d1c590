"""The Clickatell legacy HTTP/S API's vocabulary: commands, typed errors, the answer parser.

Every answer becomes either a value or an :class:`ApiError` with a category that
tells the session logic what to do next. Real servers are sloppy (CRLF, several
lines, a bare ``OK:``, ``ERR:`` without a code, HTML error pages), so the parser
is lenient about form and strict about meaning: anything it does not understand
is a transient error carrying the (masked) raw text, never an exception of
another type.

Only a 2xx answer can succeed: an ``OK:`` under a 3xx or 4xx (a captive portal, a proxy's
page) is a transient error. An ``ERR:`` line is honoured under any status below 500, since
a refusal is never mistaken for success and retrying a refused password could lock the
account; a 5xx is transient whatever its body says. Every description and raw text taken
from an answer goes through :func:`~tray_app.core.server_text.server_text`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

# The base URL policy lives in its own module, light enough for the tray's start-up; these
# names stay importable from here.
from tray_app.core.base_url import DEFAULT_BASE_URL as DEFAULT_BASE_URL
from tray_app.core.base_url import is_loopback_host as is_loopback_host
from tray_app.core.base_url import validate_base_url as validate_base_url
from tray_app.core.redact import mask_text
from tray_app.core.server_text import server_text

_ANSWER = re.ASCII | re.IGNORECASE
_SESSION_TOKEN = re.compile(r"^[0-9A-Za-z]{1,64}$", re.ASCII)
_OK_LINE = re.compile(r"^OK\b\s*:?\s*(\S*)", _ANSWER)
_ERR_LINE = re.compile(r"^ERR\b\s*:?\s*(\d+)?\s*,?\s*(.*)$", _ANSWER)
_CREDIT_LINE = re.compile(r"^Credits?\s*:\s*([-+]?\d{1,15}(?:\.\d{1,15})?)\s*$", _ANSWER)
_RAW_KEPT = 200
_RAW_SCANNED = 4096
_MAX_CODE_DIGITS = 6


class Command(StrEnum):
    AUTH = "auth"
    PING = "ping"
    BALANCE = "getbalance"


class ErrorCategory(StrEnum):
    SESSION_GONE = "session gone"
    CREDENTIALS_REJECTED = "credentials rejected"
    TRANSIENT = "transient"
    NO_CREDIT = "no credit"
    API_ERROR = "api error"


_REJECTING_CODES = frozenset({4, 7, 108})
_SESSION_GONE_CODES = frozenset({3, 5})
_NO_CREDIT_CODES = frozenset({301, 302})
_TRANSIENT_CODES = frozenset({901})


def classify(code: int | None, command: Command) -> ErrorCategory:
    """Map an ``ERR`` code to what the session logic should do about it.

    Servers are known to answer 001 to a ping whose session has expired, so 001
    and 002 mean "sign in again" on a session call and "stop" only on auth.
    """
    if code in _SESSION_GONE_CODES:
        return ErrorCategory.SESSION_GONE
    if code in (1, 2):
        if command is Command.AUTH:
            return ErrorCategory.CREDENTIALS_REJECTED
        return ErrorCategory.SESSION_GONE
    if code in _REJECTING_CODES:
        return ErrorCategory.CREDENTIALS_REJECTED
    if code in _TRANSIENT_CODES:
        return ErrorCategory.TRANSIENT
    if code in _NO_CREDIT_CODES:
        return ErrorCategory.NO_CREDIT
    return ErrorCategory.API_ERROR


@dataclass(eq=False)
class ApiError(Exception):
    """A failed call, with what the server said (code, description) and what it means.

    ``raw`` keeps the start of the server's answer, masked, for the log.
    """

    category: ErrorCategory
    description: str
    command: Command
    code: int | None = None
    raw: str = ""

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.code is not None:
            return f"ERR {self.code:03d}: {self.description}"
        return self.description

    @property
    def retryable(self) -> bool:
        return self.category is ErrorCategory.TRANSIENT


def _first_line(body: str) -> str:
    for line in body.lstrip("\ufeff").splitlines():
        stripped = line.strip()
        if stripped:
            return stripped
    return ""


def _kept_raw(body: str, secrets: tuple[str, ...] = ()) -> str:
    """The start of the answer for the log: masked first (so no secret is cut in half and
    escapes the mask), then made safe to show."""
    return server_text(mask_text(body[:_RAW_SCANNED], secrets), _RAW_KEPT)


def _is_success(status: int) -> bool:
    return 200 <= status < 300


def _unexpected(command: Command, body: str, status: int) -> ApiError:
    line = _first_line(body)
    if not line:
        description = "the server sent an empty answer"
    elif line.startswith("<"):
        description = "the server sent a web page instead of an API answer"
    else:
        description = "the server sent an answer this app does not understand"
    if status != 200:
        description += f" (HTTP {status})"
    return ApiError(ErrorCategory.TRANSIENT, description, command, raw=_kept_raw(body))


def _error_from_line(command: Command, line: str, body: str) -> ApiError | None:
    match = _ERR_LINE.match(line)
    if match is None:
        return None
    digits, description = match.groups()
    significant = (digits or "").lstrip("0") or "0"
    code = int(significant) if digits is not None and len(significant) <= _MAX_CODE_DIGITS else None
    return ApiError(
        classify(code, command),
        server_text(description) or "no description given",
        command,
        code=code,
        raw=_kept_raw(body),
    )


def error_in(command: Command, body: str) -> ApiError | None:
    """The API error an answer states on its first line, or None when it states none."""
    return _error_from_line(command, _first_line(body), body)


def parse_session_answer(
    command: Command, body: str, status: int = 200, sent_session_id: str | None = None
) -> str:
    """The session ID from an ``auth`` or ``ping`` answer.

    A ping may answer a bare ``OK:``; the session ID is then the one that was sent. A ping
    answered with another ID is refused as "session gone": the server does not know ours (or
    is not the API), so the app signs in again, which announces and stores the new ID, rather
    than adopting an ID it never asked for.
    """
    line = _first_line(body)
    if status >= 500:
        raise _unexpected(command, body, status)
    error = _error_from_line(command, line, body)
    if error is not None:
        raise error
    match = _OK_LINE.match(line) if _is_success(status) else None
    if match is None:
        raise _unexpected(command, body, status)
    token = match.group(1)
    if not token and command is Command.PING and sent_session_id:
        return sent_session_id
    if not token or not _SESSION_TOKEN.match(token):
        raise _unexpected(command, body, status)
    if command is Command.PING and sent_session_id and token != sent_session_id:
        raise ApiError(
            ErrorCategory.SESSION_GONE,
            "the server answered the ping with another session ID",
            command,
            raw=_kept_raw(body, (token,)),
        )
    return token


def parse_balance_answer(body: str, status: int = 200) -> float:
    """The credit from a ``getbalance`` answer (``Credit:`` or, in newer docs, ``Credits:``)."""
    line = _first_line(body)
    if status >= 500:
        raise _unexpected(Command.BALANCE, body, status)
    error = _error_from_line(Command.BALANCE, line, body)
    if error is not None:
        raise error
    match = _CREDIT_LINE.match(line) if _is_success(status) else None
    if match is None:
        raise _unexpected(Command.BALANCE, body, status)
    return float(match.group(1))
