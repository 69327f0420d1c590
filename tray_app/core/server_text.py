"""What a server says, made safe to show: one line, no control characters, a bounded length.

A server's text reaches a terminal (CLI errors), the log, the tray's tooltip, the sign-in
dialog and notifications. A hostile or broken server must not be able to set a terminal's
title or clear its screen (ESC, CSI, OSC and the C1 controls), fake a line of its own (CR,
LF), reorder what is shown (bidirectional overrides), or flood any of those places with
megabytes. Every piece of server text goes through :func:`server_text` where it is parsed,
so nothing downstream sees it raw.
"""

from __future__ import annotations

import re
import unicodedata

SERVER_TEXT_LIMIT = 200
"""Characters kept of any one piece of server text; longer text ends with an ellipsis."""

_SPACES = re.compile(r"\s+")
# Invisible characters that change how the text around them is shown: bidirectional
# embeddings, overrides and isolates, and the marks that steer them.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# How much raw input is looked at: enough for LIMIT characters once controls are gone.
_SCAN_FACTOR = 8


def server_text(text: str, limit: int = SERVER_TEXT_LIMIT) -> str:
    """``text`` on one line, without control characters, at most ``limit`` characters long.

    Tabs and line breaks become single spaces; every other control character (C0, DEL, C1,
    ESC with whatever sequence it starts being shown as plain characters) and every
    bidirectional control is dropped.
    """
    head = text[: limit * _SCAN_FACTOR]
    kept = "".join(
        " " if char.isspace() else char
        for char in head
        if char.isspace() or (unicodedata.category(char) != "Cc" and char not in _BIDI)
    )
    flat = _SPACES.sub(" ", kept).strip()
    if len(flat) > limit or len(text) > len(head):
        return flat[: limit - 1].rstrip() + "…"
    return flat
