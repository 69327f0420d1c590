"""The owner's control protocol: one JSON line in, one JSON line out, over a per-user socket.

Whichever process keeps the session alive (the tray, ``keepalive``, ``proxy``) is its owner
and answers the other commands. A request names a ``profile`` (only ``default`` for now: the
door stays open for several accounts) and an ``op`` from :data:`OPS`; ``login`` carries
``api_id``, ``user`` and ``password``, nothing else carries anything. A request is at most
:data:`MAX_REQUEST_BYTES` and must arrive within :data:`READ_TIMEOUT` seconds; anything else
gets an answer saying why and the connection is closed.

An answer is ``{"ok": true, ...}`` or ``{"ok": false, "error": "<one line>", "category":
"<why>"}``, where the category is an :class:`~tray_app.core.protocol.ErrorCategory` value or
one of :data:`NO_SESSION`, :data:`BAD_REQUEST`, :data:`UNAVAILABLE`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

OPS = ("status", "session-id", "ping", "balance", "login", "logout", "show", "quit")
PROFILES = ("default",)
DEFAULT_PROFILE = "default"
MAX_REQUEST_BYTES = 8 * 1024
MAX_ANSWER_BYTES = 64 * 1024
MAX_FIELD_CHARS = 1024
READ_TIMEOUT = 2.0
"""Seconds a client has to send its whole request line."""
ANSWER_TIMEOUT = 40.0
"""The longest an owner works on one answer: a request's deadline and a sign-in after it."""
CLIENT_TIMEOUT = ANSWER_TIMEOUT + 5.0
"""How long a client waits for the answer line, a little past the owner's own limit."""

NO_SESSION = "no session"
BAD_REQUEST = "bad request"
UNAVAILABLE = "unavailable"

_OP_FIELDS: dict[str, frozenset[str]] = {"login": frozenset({"api_id", "user", "password"})}


@dataclass(frozen=True, slots=True)
class ControlRequest:
    op: str
    profile: str = DEFAULT_PROFILE
    fields: dict[str, str] = field(default_factory=dict, repr=False)
    """Only ``login`` has any, the password among them: kept out of ``repr``."""


def encode_request(op: str, profile: str = DEFAULT_PROFILE, **fields: str) -> bytes:
    """One request line; ValueError for a request the owner would refuse anyway."""
    request = {"profile": profile, "op": op, **fields}
    line = _line(request)
    decode_request(line)
    return line


def decode_request(line: bytes) -> ControlRequest:
    """The request in ``line``; ValueError with a reason that never quotes a field's value."""
    if len(line) > MAX_REQUEST_BYTES:
        raise ValueError(f"a request is at most {MAX_REQUEST_BYTES} bytes")
    try:
        data = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ValueError("not a JSON line") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    op, profile = data.pop("op", None), data.pop("profile", None)
    if op not in OPS:
        raise ValueError(f"op must be one of {', '.join(OPS)}")
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}")
    wanted = _OP_FIELDS.get(op, frozenset())
    if set(data) != wanted:
        names = ", ".join(sorted(wanted)) or "no other fields"
        raise ValueError(f"{op} takes {names}")
    for name, value in data.items():
        if not isinstance(value, str) or not value or len(value) > MAX_FIELD_CHARS:
            raise ValueError(f"{name} must be text of 1 to {MAX_FIELD_CHARS} characters")
    return ControlRequest(op, profile, data)


def ok(**fields: Any) -> dict[str, Any]:
    return {"ok": True, **fields}


def failure(error: str, category: str) -> dict[str, Any]:
    return {"ok": False, "error": error, "category": category}


def encode_answer(answer: dict[str, Any]) -> bytes:
    line = _line(answer)
    if len(line) > MAX_ANSWER_BYTES:
        raise ValueError(f"an answer is at most {MAX_ANSWER_BYTES} bytes")
    return line


def decode_answer(line: bytes) -> dict[str, Any]:
    """The answer in ``line``; ValueError unless it is a JSON object with a boolean ``ok``."""
    try:
        data = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ValueError("the owner's answer is not a JSON line") from None
    if not isinstance(data, dict) or not isinstance(data.get("ok"), bool):
        raise ValueError("the owner's answer has no ok field")
    if not data["ok"] and not isinstance(data.get("error"), str):
        raise ValueError("the owner's refusal has no error text")
    return data


def _line(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=True, separators=(",", ":")).encode("ascii") + b"\n"
