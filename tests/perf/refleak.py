"""Measure lost references to ``None`` and ``True``, the PySide6 6.12.0 bug on Python 3.11.

In PySide6 6.12.0 every method that returns nothing drops a reference to ``None`` and every
``emit()`` one to ``True``; on Python 3.11 the interpreter aborts when a count reaches zero.
The project excludes that release (pyproject.toml, tests/test_qt_refcounts.py); the benchmark
refuses to run on it and reports the references lost per kept day on any other.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal


class _Probe(QObject):
    fired = Signal(object)


def refs() -> dict[str, int]:
    """The reference counts of ``None`` and ``True`` now."""
    return {"None": sys.getrefcount(None), "True": sys.getrefcount(True)}


def lost_since(before: dict[str, int]) -> dict[str, int]:
    now = refs()
    return {name: before[name] - now[name] for name in before}


def lost_per_call() -> dict[str, float]:
    """References one ``QTimer.start()`` takes from ``None`` and one ``emit()`` from ``True``."""
    QCoreApplication.instance() or QCoreApplication([])
    probe = _Probe()
    probe.fired.connect(lambda _value: None)
    timer = QTimer()
    calls = 100
    timer.start(60_000)  # a first call may set things up once (bindings, caches): not a leak
    probe.fired.emit(0)
    before = refs()
    for _ in range(calls):
        timer.start(60_000)
    timer.stop()
    for _ in range(calls):
        probe.fired.emit(0)
    lost = lost_since(before)
    return {"None": round(lost["None"] / calls, 2), "True": round(lost["True"] / calls, 2)}
