"""Time sources, injected so that tests can run hours of schedule in milliseconds, and how a
suspend shows in them."""

from __future__ import annotations

import time
from typing import Protocol

CLOCK_JUMP_THRESHOLD = 30.0


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


class SleepDetector:
    """Tells from two clocks read together that the machine slept since the last reading.

    Over a suspend the wall clock jumps forward while the monotonic one stands still, so the
    two steps part by more than ``threshold`` seconds; a late timer moves both alike.
    """

    def __init__(self, threshold: float = CLOCK_JUMP_THRESHOLD) -> None:
        self._threshold = threshold
        self._last: tuple[float, float] | None = None

    def slept(self, wall: float, monotonic: float) -> bool:
        """Whether the clocks parted since the previous call; the first call answers False."""
        last, self._last = self._last, (wall, monotonic)
        if last is None:
            return False
        return abs((wall - last[0]) - (monotonic - last[1])) > self._threshold
