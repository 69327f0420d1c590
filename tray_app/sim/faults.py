"""Faults on demand: latency, a share of broken answers, or one chosen fault for the next call.

Faults hit only ``/http/`` and ``/utils/`` calls, never the ``/sim/`` control endpoints, so a
test can always steer a simulator it has broken. A ``hang`` waits and then drops the connection.
"""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass

FAULT_KINDS = ("503", "garbage", "drop", "hang")
_RANDOM_FAULTS = ("503", "garbage", "drop")
_DEFAULT_HANG = 30.0
TEXT = "text/plain; charset=utf-8"
HTML = "text/html; charset=utf-8"
# No letters, so random junk can never read as "OK", "ERR" or "Credit".
_JUNK = "0123456789#$%&*+-/;<=>?@[]^_{|}~ "

PAGE_503 = (
    "<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head>"
    "<body><h1>Service Unavailable</h1><p>The server is temporarily unable to service "
    "your request.</p></body></html>\n"
)
_PAGE_GARBAGE = (
    "<html><head><title>Gateway</title></head><body><p>Please wait while we check "
    "your browser&hellip;</p></body></html>\n"
)


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str
    seconds: float = 0.0


def check_seconds(name: str, value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number of seconds >= 0, not {value!r}")


def check_kind(kind: str) -> None:
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}")


class Faults:
    """The fault settings, shared by the request threads; seeded so a run can be replayed."""

    def __init__(self, *, latency: float, fault_rate: float, seed: int | None) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self._latency = 0.0
        self._fault_rate = 0.0
        self._next: Fault | None = None
        self.set(latency=latency, fault_rate=fault_rate)

    @property
    def latency(self) -> float:
        with self._lock:
            return self._latency

    @property
    def fault_rate(self) -> float:
        with self._lock:
            return self._fault_rate

    def set(self, *, latency: float | None = None, fault_rate: float | None = None) -> None:
        """Change the faults for the requests that arrive from now on; ``None`` keeps a value."""
        if latency is not None:
            check_seconds("latency", latency)
        if fault_rate is not None and not 0.0 <= fault_rate <= 1.0:
            raise ValueError(f"fault_rate must be between 0 and 1, not {fault_rate!r}")
        with self._lock:
            if latency is not None:
                self._latency = latency
            if fault_rate is not None:
                self._fault_rate = fault_rate

    def force_next(self, kind: str, seconds: float | None = None) -> None:
        """Give the next API request this fault; a ``hang`` lasts ``seconds`` (default: the
        latency, or 30 s without one), long enough for a client's own timeout to fire first."""
        check_kind(kind)
        if seconds is not None:
            check_seconds("seconds", seconds)
        with self._lock:
            if kind == "hang" and seconds is None:
                seconds = self._latency or _DEFAULT_HANG
            self._next = Fault(kind, seconds or 0.0)

    def take(self) -> Fault | None:
        """The fault for the request that just arrived, if any."""
        with self._lock:
            if self._next is not None:
                fault, self._next = self._next, None
                return fault
            if self._fault_rate > 0 and self._random.random() < self._fault_rate:
                return Fault(self._random.choice(_RANDOM_FAULTS))
            return None

    def garbage(self) -> tuple[str, str]:
        """A content type and a body no parser should accept: an HTML page, junk, or nothing."""
        with self._lock:
            pick = self._random.randrange(3)
            junk = "".join(self._random.choices(_JUNK, k=self._random.randint(8, 64)))
        if pick == 0:
            return HTML, _PAGE_GARBAGE
        if pick == 1:
            return TEXT, junk
        return TEXT, ""
