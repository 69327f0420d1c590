"""When the tray icon is really on a panel: for the start-up order, the benchmark and the tests.

On a panel means embedded with a geometry (XEmbed) or registered with the
StatusNotifierWatcher (SNI hosts, whose icons have no geometry); offscreen, at once. The
geometry is looked at each time the event loop wakes: the tray host's embedding arrives as X
events, so the answer comes within the loop turn that embeds the icon (as precise as a 1 ms
poll, with no timer of its own). The watcher is a D-Bus call, asked every ``REPORT_POLL_MS``,
and nothing polls faster than that. Both stop once the icon is up.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QAbstractEventDispatcher, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QSystemTrayIcon

REPORT_POLL_MS = 50


def when_on_panel(
    tray: QSystemTrayIcon, then: Callable[[], None], timeout_ms: int | None = None
) -> None:
    """Call ``then`` once: when ``tray`` is on a panel, or after ``timeout_ms`` (None: never)."""
    from tray_app.qt.sni import registered_by_this_process

    dispatcher = QAbstractEventDispatcher.instance()
    timer = QTimer(tray)
    started = time.monotonic()
    done = False

    def finish() -> None:
        nonlocal done
        if done:
            return
        done = True
        timer.stop()
        timer.deleteLater()
        if dispatcher is not None:
            dispatcher.awake.disconnect(check_geometry)
        then()

    def embedded() -> bool:
        return QGuiApplication.platformName() == "offscreen" or tray.geometry().x() > 0

    def late() -> bool:
        return timeout_ms is not None and (time.monotonic() - started) * 1000 >= timeout_ms

    def check_geometry() -> None:
        if embedded():
            finish()

    def check_watcher() -> None:
        if embedded() or late() or registered_by_this_process():
            finish()

    if embedded():
        timer.deleteLater()
        then()
        return
    if dispatcher is not None:
        dispatcher.awake.connect(check_geometry)
    timer.setInterval(REPORT_POLL_MS)
    timer.timeout.connect(check_watcher)
    timer.start()


def report_when_embedded(tray: QSystemTrayIcon) -> None:
    """For the benchmarks and tests: print ``tray-shown <ns>`` once the icon is on a panel."""
    if tray.property("shown_reported"):
        return
    tray.setProperty("shown_reported", True)
    when_on_panel(tray, lambda: print(f"tray-shown {time.time_ns()}", flush=True))
