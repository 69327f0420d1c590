"""The session's observable state, shared by the keeper and every view of it."""

from __future__ import annotations

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
