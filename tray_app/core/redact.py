"""Masking of session IDs and passwords, for anything a person or a log may see."""

from __future__ import annotations

import logging
import re

_HEX_ID = re.compile(r"\b[0-9a-fA-F]{32}\b")
_SECRET_FIELD = re.compile(r"(?i)\b(password|session_id)=([^&\s]+)")


def mask_id(session_id: str | None) -> str:
    """Keep just enough of an ID to tell two apart: ``f6b9…5d66``."""
    if not session_id:
        return "—"
    if len(session_id) <= 8:
        return "…"
    return f"{session_id[:4]}…{session_id[-4:]}"


def mask_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Hide 32-hex session IDs, ``password=``/``session_id=`` values and the given secrets."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "••••")
    text = _HEX_ID.sub(lambda m: mask_id(m.group(0)), text)
    return _SECRET_FIELD.sub(lambda m: f"{m.group(1)}=••••", text)


class SecretFilter(logging.Filter):
    """Masks secrets in every record before any handler formats it to a file or a terminal."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()

    def add_secret(self, secret: str | None) -> None:
        if secret:
            self._secrets.add(secret)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = mask_text(message, tuple(self._secrets))
        record.args = None
        return True


SECRET_FILTER = SecretFilter()
