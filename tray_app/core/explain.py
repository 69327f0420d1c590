"""Failures in plain words: what a person reads in the menu, the dialogs and the events window.

One rule for every view. The API's own description ("Authentication failed") says less than
what the code means for the user, so a known code is replaced by words that say what to check;
the code itself is kept in brackets, for a search or a support call. Transport failures and
garbled answers already carry a sentence of their own (``"cannot reach the server"``,
``"… (HTTP 503)"``), which is kept as it is.
"""

from __future__ import annotations

from tray_app.core.protocol import ApiError, ErrorCategory

_REJECTED = {
    1: "The API ID, username or password is wrong",
    2: "The API ID, username or password is wrong",
    4: "The account is frozen: ask Clickatell support",
    7: "This computer's IP address is not allowed for this account (IP lock-down)",
    108: "The API ID is wrong or unknown",
}
_BY_CATEGORY = {
    ErrorCategory.CREDENTIALS_REJECTED: "The API refused the credentials",
    ErrorCategory.SESSION_GONE: "The session had expired on the server",
    ErrorCategory.NO_CREDIT: "No credit left on the account",
}
_TRANSIENT = {901: "The server had an internal error and asks to retry"}


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def describe(error: ApiError) -> str:
    """``error`` as one sentence without a final stop, e.g. "… is wrong (ERR 001)"."""
    code = error.code
    if error.category is ErrorCategory.CREDENTIALS_REJECTED and code in _REJECTED:
        words = _REJECTED[code]
    elif error.category is ErrorCategory.TRANSIENT and code in _TRANSIENT:
        words = _TRANSIENT[code]
    elif error.category in _BY_CATEGORY:
        words = _BY_CATEGORY[error.category]
    elif code is not None:
        words = f"The server said: {error.description}"
    else:
        return capitalised(error.description.strip().rstrip("."))
    return f"{words} (ERR {code:03d})" if code is not None else words
