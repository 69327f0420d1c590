"""The keep-alive plan's vocabulary: its timings, the events it reports, the requests it asks for.

Split from :mod:`tray_app.core.session` (which re-exports the names it uses) so that the state
machine reads on its own; the rules these numbers serve are in that module's docstring.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from tray_app.core.protocol import Command

LIFETIME = 15 * 60.0
DEFAULT_INTERVAL = 10 * 60.0
MIN_INTERVAL = 60.0
MAX_INTERVAL = 14 * 60.0
RESUME_GRACE = 5.0
ABANDON_AFTER = 30.0
TICK = 60.0
"""The longest the keeper sleeps while it keeps a session. The suspend check (the wall clock
outrunning the monotonic one: :class:`~tray_app.core.clock.SleepDetector`) runs on it, and a
minute is also what the icon shows, so one wake-up a minute serves both; logind's
``PrepareForSleep`` reports a resume at once where it exists."""
MIN_INTERVAL_MINUTES = round(MIN_INTERVAL / 60)
MAX_INTERVAL_MINUTES = round(MAX_INTERVAL / 60)


def expiry_after(sent_at: float, lifetime: float = LIFETIME) -> float:
    """When a session that a request sent at ``sent_at`` proved alive dies, at the latest.

    Counted from the send, the earliest moment the server can have re-armed the session, so
    the local expiry is never late. The plan and the exchange both use it: one rule.
    """
    return sent_at + lifetime


def check_interval(seconds: float, *, loopback: bool = True, lifetime: float = LIFETIME) -> float:
    """The ping interval, if it keeps the session alive without hammering a real server.

    Under the lifetime always; under :data:`MIN_INTERVAL` only against a server on this
    machine (the simulator with a short lifetime), never the real API. ValueError says why.
    """
    if not 0 < seconds < lifetime:
        minutes = f"{lifetime / 60:g}-minute" if lifetime >= 60 else f"{lifetime:g}-second"
        raise ValueError(f"the interval must be under the {minutes} session lifetime")
    if seconds < MIN_INTERVAL and not loopback:
        raise ValueError("intervals under 1 minute are only allowed against a loopback server")
    return seconds


class Event(StrEnum):
    """Things worth telling a person, each reported once when it happens."""

    SIGNED_IN = "signed in"
    ID_CHANGED = "session renewed with a new ID"
    EXPIRED = "session expired"
    REJECTED = "credentials rejected"
    BACK_ONLINE = "back online"
    NO_CREDIT = "no credit"


@dataclass(frozen=True, slots=True)
class Request:
    command: Command
    sent_at: float
    session_id: str | None = None


@dataclass(slots=True)
class Outcome:
    """What the keeper must do after telling the plan something."""

    request: Request | None = None
    events: list[Event] = field(default_factory=list)
    abandoned: Request | None = None
    """A request given up on: its worker may be stuck, so the keeper replaces it."""
