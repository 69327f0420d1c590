"""Guards against a Qt binding that loses references to None or True.

PySide6-Essentials 6.12.0 on Python 3.11 drops one reference to ``None`` per
void method call and one to ``True`` per signal emit; a keeper that runs for a
day or two then aborts with ``Fatal Python error: bool_dealloc``. The project
excludes that release; this test fails if such a release is installed again.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, QTimer, Signal

CALLS = 300


class Emitter(QObject):
    changed = Signal(object)


def test_emits_and_void_calls_keep_none_and_true_alive(qapp: object) -> None:
    emitter = Emitter()
    received: list[object] = []
    emitter.changed.connect(received.append)
    timer = QTimer()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for number in range(CALLS):
        emitter.changed.emit(number)
        timer.start(60_000)
    timer.stop()
    assert len(received) == CALLS
    assert sys.getrefcount(None) - none_before > -50
    assert sys.getrefcount(True) - true_before > -50
