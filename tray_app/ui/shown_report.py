"""The benchmark's and the tests' hook: ``tray-shown <ns>`` on stdout once the icon is on a panel.

Only with ``CLICKATELL_TRAY_REPORT_SHOWN=1``; the app calls it when it shows its icon.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QSystemTrayIcon

REPORT_POLL_MS = 50


def report_when_embedded(tray: QSystemTrayIcon) -> None:
    """For the benchmarks and tests: print once when the icon is really on a panel.

    On screen means embedded with a geometry (XEmbed) or registered with the
    StatusNotifierWatcher (SNI hosts, whose icons have no geometry). The geometry is
    checked every millisecond, as the benchmark's floor checks its own (a coarser poll
    would add its period to the start-up measured); the watcher, a D-Bus call, every
    ``REPORT_POLL_MS``. Either costs nothing measurable while a panel is slow to come.
    """
    if tray.property("shown_reported"):
        return
    tray.setProperty("shown_reported", True)
    from tray_app.qt.sni import registered_by_this_process

    checks = 0

    def check() -> None:
        nonlocal checks
        checks += 1
        ask_watcher = checks % REPORT_POLL_MS == 1  # one tick a millisecond
        embedded = QGuiApplication.platformName() == "offscreen" or tray.geometry().x() > 0
        if embedded or (ask_watcher and registered_by_this_process()):
            timer.stop()
            timer.deleteLater()
            print(f"tray-shown {time.time_ns()}", flush=True)

    timer = QTimer(tray)
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(1)
    timer.timeout.connect(check)
    timer.start()
    check()
