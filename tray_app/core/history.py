"""The Recent events log: what happened to the session in this run, in words, newest first.

A bounded in-memory list (the last :data:`HISTORY_LIMIT` entries; older ones fall off, the
rotating log file keeps everything), stamped by the caller's clock so that tests drive it
with a fake one. The words come from here too, one rule for every view: a request's result
("Ping OK", "Ping failed: <reason>"), the events a person is told about, and the user's own
acts (pause, resume, sign out). Nothing secret goes in: session IDs are masked.

Events that repeat a request's line ("signed in" after a successful auth, "credentials
rejected" after a refused one) are not listed twice.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from tray_app.core.explain import describe
from tray_app.core.protocol import ApiError, Command
from tray_app.core.redact import mask_id
from tray_app.core.session import Event
from tray_app.core.state import State

HISTORY_LIMIT = 200


class Kind(StrEnum):
    OK = "ok"
    FAILED = "failed"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Entry:
    at: float
    text: str
    kind: Kind = Kind.INFO


_VERB = {Command.AUTH: "Sign-in", Command.PING: "Ping", Command.BALANCE: "Balance query"}
_EVENT_TEXT = {
    Event.EXPIRED: ("Session expired", Kind.FAILED),
    Event.BACK_ONLINE: ("Back online", Kind.OK),
    Event.NO_CREDIT: ("No credit left on the account", Kind.FAILED),
}


def result_entry(at: float, command: Command, result: object) -> Entry:
    """One request's outcome; ``result`` is a session ID, a balance, or an exception."""
    verb = _VERB[command]
    if isinstance(result, ApiError):
        return Entry(at, f"{verb} failed: {describe(result)}", Kind.FAILED)
    if isinstance(result, Exception):
        name = type(result).__name__
        # NoCredentials lives in services.exchange, which core may not import.
        reason = "no stored credentials" if name == "NoCredentials" else "unexpected error"
        return Entry(at, f"{verb} not sent: {reason}", Kind.FAILED)
    if command is Command.AUTH:
        return Entry(at, f"Signed in: session ID {mask_id(str(result))}", Kind.OK)
    if command is Command.BALANCE:
        return Entry(at, f"Balance: {result:g} credits (this kept the session alive)", Kind.OK)
    return Entry(at, "Ping OK: session kept alive", Kind.OK)


def event_entry(at: float, event: Event, session_id: str | None) -> Entry | None:
    """An event worth its own line, or None for one that a request's line already says."""
    if event is Event.ID_CHANGED:
        return Entry(at, f"Session renewed with a new ID {mask_id(session_id)}", Kind.INFO)
    if event in _EVENT_TEXT:
        text, kind = _EVENT_TEXT[event]
        return Entry(at, text, kind)
    return None


def state_entry(at: float, before: State, after: State) -> Entry | None:
    """The user's own acts, seen as state changes: pause, resume, sign out."""
    if after is State.PAUSED:
        return Entry(at, "Keep-alive paused")
    if before is State.PAUSED and after is not State.SIGNED_OUT:
        return Entry(at, "Keep-alive resumed")
    if after is State.SIGNED_OUT and before is not State.SIGNED_OUT:
        return Entry(at, "Signed out")
    return None


class History:
    """The last ``limit`` entries of this run."""

    def __init__(self, limit: int = HISTORY_LIMIT) -> None:
        self._entries: deque[Entry] = deque(maxlen=limit)

    def add(self, entry: Entry | None) -> bool:
        """Keep ``entry`` (None is skipped); True if something was added."""
        if entry is None:
            return False
        self._entries.append(entry)
        return True

    def newest_first(self) -> list[Entry]:
        return list(reversed(self._entries))

    def __len__(self) -> int:
        return len(self._entries)
