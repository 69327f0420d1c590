"""The benchmark's and the tests' hook: ``tray-shown <ns>`` on stdout once the icon is on a panel.

Only with ``CLICKATELL_TRAY_REPORT_SHOWN=1``; the app calls it when it shows its icon.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QAbstractEventDispatcher, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QSystemTrayIcon

REPORT_POLL_MS = 50


def report_when_embedded(tray: QSystemTrayIcon) -> None:
    """For the benchmarks and tests: print once when the icon is really on a panel.

    On screen means embedded with a geometry (XEmbed) or registered with the
    StatusNotifierWatcher (SNI hosts, whose icons have no geometry). The geometry is looked
    at each time the event loop wakes: the tray host's embedding arrives as X events, so the
    report comes within the loop turn that embeds the icon (as precise as a 1 ms poll, with
    no timer of its own). The watcher is a D-Bus call, asked every ``REPORT_POLL_MS``, and
    nothing polls faster than that. Both stop once the line is printed.
    """
    if tray.property("shown_reported"):
        return
    tray.setProperty("shown_reported", True)
    from tray_app.qt.sni import registered_by_this_process

    dispatcher = QAbstractEventDispatcher.instance()
    timer = QTimer(tray)

    def report() -> None:
        timer.stop()
        timer.deleteLater()
        if dispatcher is not None:
            dispatcher.awake.disconnect(check_geometry)
        print(f"tray-shown {time.time_ns()}", flush=True)

    def embedded() -> bool:
        return QGuiApplication.platformName() == "offscreen" or tray.geometry().x() > 0

    def check_geometry() -> None:
        if embedded():
            report()

    def check_watcher() -> None:
        if embedded() or registered_by_this_process():
            report()

    if embedded():
        timer.deleteLater()
        print(f"tray-shown {time.time_ns()}", flush=True)
        return
    if dispatcher is not None:
        dispatcher.awake.connect(check_geometry)
    timer.setInterval(REPORT_POLL_MS)
    timer.timeout.connect(check_watcher)
    timer.start()
