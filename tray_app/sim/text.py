"""How many SMS parts a text needs, and the ``unicode=1`` hex form decoded.

GSM 03.38 text fits 160 septets in one SMS and 153 per part once concatenated (the other 7
carry the concatenation header); the extension characters (``^{}\\[~]|€`` and form feed)
take two septets each. ``unicode=1`` texts arrive as UCS-2 hex (four hex digits per UTF-16
code unit, as the overview's encoder produces) and fit 70 code units, 67 per part.
A character outside the GSM alphabet sent without ``unicode=1`` counts as one septet: the
real gateway replaces it, it does not refuse the message.
"""

from __future__ import annotations

import math
import re

_GSM_EXTENSION = frozenset("^{}\\[~]|€\f")
_UCS2_HEX = re.compile(r"(?:[0-9A-Fa-f]{4})+")

GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


def septets(text: str) -> int:
    """The length of ``text`` in GSM 7-bit septets."""
    return sum(2 if char in _GSM_EXTENSION else 1 for char in text)


def decode_ucs2_hex(data: str) -> str | None:
    """The text a ``unicode=1`` message carries, or None when it is not valid UCS-2 hex."""
    if not _UCS2_HEX.fullmatch(data):
        return None
    try:
        return bytes.fromhex(data).decode("utf-16-be")
    except UnicodeDecodeError:
        return None


def parts_needed(text: str, *, unicode: bool) -> int:
    """How many SMS parts carry ``text`` (at least one)."""
    if unicode:
        units = len(text.encode("utf-16-be")) // 2
        single, part = UCS2_SINGLE, UCS2_PART
    else:
        units = septets(text)
        single, part = GSM_SINGLE, GSM_PART
    if units <= single:
        return 1
    return math.ceil(units / part)
