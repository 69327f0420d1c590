"""Exit codes and the one-line error a command leaves with.

Exit codes (also in ``--help``): 0 ok, 1 other trouble (no keyring, an API error with no
better code), 2 usage, 3 credentials rejected, 4 session gone or none stored, 5 network or
server trouble. Errors are one line on stderr. The answer parser is imported only when an
error is turned into a code or a line: the tray's start-up imports this module before its icon.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tray_app.core.protocol import ApiError, ErrorCategory

EXIT_OK = 0
EXIT_OTHER = 1
EXIT_USAGE = 2
EXIT_REJECTED = 3
EXIT_SESSION_GONE = 4
EXIT_NETWORK = 5

EXIT_CODES_HELP = """\
exit codes:
  0  ok
  1  other trouble (no usable keyring, an API error without a better code)
  2  usage error
  3  credentials rejected (or account frozen, IP lock-down, wrong api_id)
  4  session gone, or no session stored
  5  network or server trouble (timeout, connection, TLS, 5xx, garbled answer)
exec leaves with its command's own code (127: not found, 126: cannot be run).

durations: 90s, 15m, 1h, or a bare number of minutes.
The base URL comes from --base-url, else $CLICKATELL_BASE_URL, else the settings.
"""


class CliError(Exception):
    """A failure with the one line to show and the exit code to leave with."""

    def __init__(self, message: str, code: int = EXIT_OTHER) -> None:
        super().__init__(message)
        self.code = code


def exit_code_for(category: ErrorCategory | str | None) -> int:
    """The documented exit code for an error category (its value as text is fine too)."""
    from tray_app.core.protocol import ErrorCategory

    exits = {
        ErrorCategory.CREDENTIALS_REJECTED: EXIT_REJECTED,
        ErrorCategory.SESSION_GONE: EXIT_SESSION_GONE,
        ErrorCategory.TRANSIENT: EXIT_NETWORK,
    }
    try:
        return exits.get(ErrorCategory(category), EXIT_OTHER) if category else EXIT_OTHER
    except ValueError:
        return EXIT_OTHER


def explain(error: ApiError) -> str:
    """The error's one line, with what to do about it."""
    from tray_app.core.protocol import ErrorCategory

    advices = {
        ErrorCategory.CREDENTIALS_REJECTED: "check the api_id, user and password",
        ErrorCategory.SESSION_GONE: "sign in again with: clickatell-tray login",
        ErrorCategory.TRANSIENT: "try again in a moment",
    }
    text = f"{error.command.value}: {error}"
    advice = advices.get(error.category)
    return f"{text} ({advice})" if advice else text
