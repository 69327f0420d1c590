"""The floor: the least a PySide6 tray app can be, a QSystemTrayIcon with a static icon.

The benchmark compares the real app against this. With ``CLICKATELL_TRAY_REPORT_SHOWN=1``
it prints ``tray-shown <time.time_ns()>`` once, as the app does: under xcb when the icon
is embedded (``geometry().x() > 0``, polled every millisecond from the first event-loop
turn after ``show()``), on any other platform right after ``show()``. It then idles until
it is terminated.

``--stack URL`` makes it the *stack floor*: once the icon is shown it also does, on the GUI
thread, the least the app's libraries cost: a ``requests.Session`` that keeps one connection
after a POST to ``URL`` (HTTPS with ``--cafile``, else plain HTTP on loopback), and one lookup
through ``keyring``'s public API (which resolves its backend as keyring does by default). Then
it gives back what that left behind as the app does after its start-up
(:func:`tray_app.core.memory.release_after_start`), so that the difference to the app is the
app's own cost and not a cache either could drop. It prints ``stack-ready`` when done, or
``stack-failed: <why>`` on stderr and exits 3.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPixmap
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

REPORT_SHOWN = "CLICKATELL_TRAY_REPORT_SHOWN"
EMBED_TIMEOUT_MS = 20_000


SHOWN_CALLBACKS: list[Callable[[], None]] = []
"""Run once the icon is shown and reported: the stack floor's work comes after its start-up."""


def report_shown() -> None:
    """The one line the benchmark waits for, then whatever waited for the icon."""
    print(f"tray-shown {time.time_ns()}", flush=True)
    for callback in SHOWN_CALLBACKS:
        QTimer.singleShot(0, callback)


def hold_the_stack(url: str, cafile: str | None) -> list[Any]:
    """One POST on a kept ``requests.Session`` and one keyring lookup; what must stay alive."""
    import keyring
    import requests

    session = requests.Session()
    answer = session.post(
        f"{url}/http/ping", data={"session_id": "0" * 32}, verify=cafile or True, timeout=10
    )
    answer.raise_for_status()
    keyring.get_password("clickatell-session-tray", "session")
    from tray_app.core.memory import release_after_start

    release_after_start()
    return [session, keyring.get_keyring()]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stack", metavar="URL", help="be the stack floor, using this server")
    parser.add_argument("--cafile", help="the certificate the HTTPS server at --stack uses")
    args = parser.parse_args()
    app = QApplication(sys.argv[:1])
    held: list[Any] = []
    if args.stack:

        def stack() -> None:
            try:
                held.extend(hold_the_stack(args.stack, args.cafile))
            except Exception as exc:
                print(f"stack-failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
                app.exit(3)
                return
            print("stack-ready", flush=True)

        SHOWN_CALLBACKS.append(stack)

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
    if os.environ.get(REPORT_SHOWN) != "1":
        for callback in SHOWN_CALLBACKS:
            QTimer.singleShot(0, callback)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
