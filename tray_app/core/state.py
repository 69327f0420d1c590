"""The session's observable state, shared by the keeper and every view of it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    SIGNED_OUT = "signed out"
    SIGNING_IN = "signing in"
    ACTIVE = "active"
    RETRYING = "retrying"
    EXPIRED = "expired"
    FAILED = "failed"
    PAUSED = "paused"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything a view needs to draw the session, with deadlines as wall-clock epochs.

    Views compute countdowns from ``expires_at`` against their own clock, so a
    snapshot stays correct however late it is drawn.
    """

    state: State = State.SIGNED_OUT
    session_id: str | None = None
    expires_at: float | None = None
    next_ping_at: float | None = None
    last_error: str | None = None
    balance: float | None = None


def mm_ss(seconds: float) -> str:
    """A countdown as ``mm:ss``, rounded up so that 0:00 means really gone."""
    whole = max(0, math.ceil(seconds))
    return f"{whole // 60:02d}:{whole % 60:02d}"


def minutes_shown(seconds: float) -> int:
    """Whole minutes left, rounded up so that "1" means under a minute (the icon's number)."""
    return max(0, math.ceil(seconds / 60))


def next_minute_change(deadline: float, now: float) -> float:
    """The first moment after ``now`` at which :func:`minutes_shown` of ``deadline`` changes.

    That is the next point of the deadline's one-minute grid: at most 60 s away, and exactly
    ``deadline`` once under a minute is left. Past the deadline the number stays 0, and the
    answer is simply a minute from now.
    """
    left = deadline - now
    if left <= 0:
        return now + 60
    return deadline - (minutes_shown(left) - 1) * 60
