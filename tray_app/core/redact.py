"""Masking of session IDs and passwords, for anything a person or a log may see.

A secret can reach text in more shapes than its own: quoted by ``%r`` or ``repr`` (escapes
for quotes, backslashes, control and non-ASCII characters), inside JSON, glued to other word
characters (``sid_<id>``, ``<id>g``). Each registered secret is masked in every one of those
shapes, any run of exactly 32 hex digits is masked wherever it stands, and the values of
``password``/``session_id`` fields are masked in form (``password=…``), JSON
(``"session_id": "…"``) and Python (``'password': '…'``) notation alike.
"""

from __future__ import annotations

import json
import logging
import re

# 32 hex digits not part of a longer hex run: word characters around it do not protect it.
_HEX_ID = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{32}(?![0-9a-fA-F])")
_FIELD_NAMES = r"password|session_id|api_key|token"
_SECRET_FIELD = re.compile(rf"(?i)\b({_FIELD_NAMES})=([^&\s]+)")
_QUOTED_FIELD = re.compile(
    rf"""(?ix)(["']?)\b({_FIELD_NAMES})\1(\s*[:=]\s*)(["'])((?:\\.|(?!\4).)*)\4"""
)


def mask_id(session_id: str | None) -> str:
    """Keep just enough of an ID to tell two apart: ``f6b9…5d66``."""
    if not session_id:
        return "—"
    if len(session_id) <= 8:
        return "…"
    return f"{session_id[:4]}…{session_id[-4:]}"


def shapes(secret: str) -> list[str]:
    """``secret`` as it may appear in text: itself, escaped by ``repr`` or JSON; longest first."""
    escaped = secret.encode("unicode_escape").decode("ascii")
    forms = {
        secret,
        repr(secret)[1:-1],
        escaped,
        escaped.replace("'", "\\'"),
        escaped.replace('"', '\\"'),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }
    return sorted((form for form in forms if form), key=len, reverse=True)


def mask_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Hide 32-hex session IDs, password and session ID fields, and the given secrets."""
    for secret in secrets:
        for form in shapes(secret) if secret else ():
            text = text.replace(form, "••••")
    text = _HEX_ID.sub(lambda m: mask_id(m.group(0)), text)
    text = _QUOTED_FIELD.sub(lambda m: f"{m[1]}{m[2]}{m[1]}{m[3]}{m[4]}••••{m[4]}", text)
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
