"""The keyring entry's text: parsed defensively, since anything may have written it.

The entry is JSON written by :mod:`tray_app.services.credentials`; another program, an older
release or a corrupt keyring may have left something else. Nothing here quotes the text in an
error: it holds a password.
"""

from __future__ import annotations

import json
import math

CREDENTIAL_FIELDS = ("api_id", "user", "password")
SESSION_FIELDS = ("session_id", "expires_at")
FIELDS = (*CREDENTIAL_FIELDS, *SESSION_FIELDS)

MAX_ENTRY_CHARS = 16 * 1024
"""Far above what five fields need; a longer entry is not ours (or is corrupt) and is not parsed."""
MAX_ENTRY_DEPTH = 2


def epoch(text: str | None) -> float | None:
    """A stored expiry, or None for one that is missing or not a finite number."""
    try:
        value = float(text) if text is not None else math.nan
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def parse(payload: str) -> dict[str, str]:
    """The entry as a dict of strings; ValueError, which never quotes the payload, otherwise.

    Size and nesting are checked before ``json`` sees the text: an entry nested 100 000 levels
    deep would raise RecursionError inside the parser. An unusable entry is reported and
    treated as empty, so signing in again overwrites it.
    """
    if len(payload) > MAX_ENTRY_CHARS:
        raise ValueError(f"longer than {MAX_ENTRY_CHARS} characters")
    if nesting(payload) > MAX_ENTRY_DEPTH:
        raise ValueError(f"nested more than {MAX_ENTRY_DEPTH} levels deep")
    try:
        data = json.loads(payload)
    except (json.JSONDecodeError, RecursionError):
        raise ValueError("not valid JSON") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    entry = {name: data[name] for name in FIELDS if data.get(name) is not None}
    if not all(isinstance(value, str) for value in entry.values()):
        raise ValueError("a field is not a string")
    if 0 < sum(name in entry for name in CREDENTIAL_FIELDS) < len(CREDENTIAL_FIELDS):
        raise ValueError("the credentials are incomplete")
    return entry


def nesting(text: str) -> int:
    """How deep ``[`` and ``{`` nest in JSON text, brackets inside strings not counted."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest
