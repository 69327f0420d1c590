"""The floor: the least a PySide6 tray app can be, a QSystemTrayIcon with a static icon.

The benchmark compares the real app against this. With ``CLICKATELL_TRAY_REPORT_SHOWN=1``
it prints ``tray-shown <time.time_ns()>`` once, as the app does: under xcb when the icon
is embedded (``geometry().x() > 0``, polled every millisecond from the first event-loop
turn after ``show()``), on any other platform right after ``show()``. It then idles until
it is terminated.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPixmap
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

REPORT_SHOWN = "CLICKATELL_TRAY_REPORT_SHOWN"
EMBED_TIMEOUT_MS = 20_000


def report_shown() -> None:
    """The one line the benchmark waits for."""
    print(f"tray-shown {time.time_ns()}", flush=True)


def main() -> int:
    app = QApplication(sys.argv)
    app.setQuitOnLastWindowClosed(False)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    pixmap = QPixmap(64, 64)
    pixmap.fill(QColor("#2e7d32"))
    tray = QSystemTrayIcon(QIcon(pixmap))
    tray.show()
    if os.environ.get(REPORT_SHOWN) == "1":
        if QGuiApplication.platformName() != "xcb":
            report_shown()
        else:
            poll = QTimer()
            poll.setTimerType(Qt.TimerType.PreciseTimer)
            poll.setInterval(1)
            waited = time.monotonic()

            def check() -> None:
                if tray.geometry().x() > 0:
                    poll.stop()
                    report_shown()
                elif time.monotonic() - waited > EMBED_TIMEOUT_MS / 1000:
                    poll.stop()
                    print("tray-not-embedded", file=sys.stderr, flush=True)
                elif not poll.isActive():
                    poll.start()

            poll.timeout.connect(check)
            QTimer.singleShot(0, check)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
