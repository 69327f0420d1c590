"""Time sources, injected so that tests can run hours of schedule in milliseconds."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def wall(self) -> float:
        """Seconds since the epoch; jumps forward over a system suspend."""

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps; on Linux it stands still during suspend."""


class SystemClock:
    def wall(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock:
    """A clock that moves only when told to: ``advance`` for time passing, ``suspend`` for sleep."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._wall = start
        self._monotonic = 1000.0

    def wall(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        self._wall += seconds
        self._monotonic += seconds

    def suspend(self, seconds: float) -> None:
        """The machine sleeps: wall time moves, the monotonic clock does not."""
        self._wall += seconds
