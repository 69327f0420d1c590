"""What a benchmark section is: the plan it is given and the result it hands back.

``bench.py`` runs the sections of its ``SECTIONS`` list in order and merges their results into
one table and one ``perf.json``. A new section is a module with a function
``run(plan: Plan) -> Result`` and one line in that list; it reads ``plan.quick`` to scale
itself down for the test suite, and it never asserts a timing (its rows say ok or MISS).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.perf.report import Row


@dataclass(frozen=True)
class Plan:
    """How much of everything to do."""

    quick: bool
    startup_runs: int
    startup_warmup: int
    idle_rounds: int
    rss_after: float
    cpu_window: float
    settle: float
    """Seconds after the icon shows before the idle window opens: past the start-up's
    one-shot timers (Qt's pixmap cache ages its first entries at 30 and 60 s, in the bare
    tray too), so that the window's wake-ups, scaled to an hour, are those of an idle hour;
    the ones before are counted apart (``details.wakeups.before_window``)."""
    ping_samples: int
    hang: float
    growth_days: float
    growth_warmup_days: float
    fuzz_inputs: int
    platform: str = "auto"
    """auto (Xvfb + trayer when installed, offscreen with --quick), xcb or offscreen."""

    @classmethod
    def full(cls) -> Plan:
        return cls(False, 5, 1, 1, 30.0, 600.0, 90.0, 300, 10.0, 7.0, 1.0, 100_000)

    @classmethod
    def fast(cls) -> Plan:
        return cls(True, 2, 1, 1, 3.0, 3.0, 0.5, 50, 2.0, 1.0, 2 / 24, 2_000)


@dataclass
class Result:
    """A section's share of the run.

    ``figures`` go to the top level of ``perf.json`` (the headline numbers), ``details`` under
    ``"details"``; ``rows`` are its lines of the table; ``notes`` print under it; ``missing``
    names the figures it could not measure, which makes the run exit 1.
    """

    figures: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Section:
    """A named part of the benchmark; ``--only``/``--skip`` select sections by name."""

    name: str
    run: Callable[[Plan], Result]


def progress(text: str) -> None:
    """One line on stderr so that a long run shows where it is."""
    print(f"… {text}", file=sys.stderr, flush=True)
