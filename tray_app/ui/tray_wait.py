"""No tray yet: show the icon as soon as a panel comes, and a window rather than nothing.

At login the panel may start after the app; without any tray (GNOME without the AppIndicator
extension, a bare Wayland session) the app must never run invisible.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from tray_app import APP_NAME
from tray_app.ui.shown_report import report_when_embedded

if TYPE_CHECKING:
    from tray_app.ui.status_window import StatusWindow
    from tray_app.ui.tray import TrayView

TRAY_WAIT_SECONDS = 20.0
TRAY_POLL_MS = 1000
SLOW_POLL_MS = 10_000
NO_TRAY_TEXT = (
    "No system tray is available, so the session's status is shown in this window.\n\n"
    "On GNOME, install and enable the “AppIndicator and KStatusNotifierItem Support” "
    "extension (package gnome-shell-extension-appindicator), then start the app again. "
    "The keep-alive runs either way."
)


def show_tray_when_available(
    app: QApplication,
    view: TrayView,
    status_window: Callable[[str | None], StatusWindow],
    *,
    is_available: Callable[[], bool] | None = None,
    wait_seconds: float = TRAY_WAIT_SECONDS,
    poll_ms: int = TRAY_POLL_MS,
    slow_poll_ms: int = SLOW_POLL_MS,
    report: bool = False,
) -> None:
    """Show the icon now, or once a tray appears; after a while, a window instead of nothing.

    Once the window is up, the check slows to every ``slow_poll_ms``: a panel that
    comes much later still gets the icon, at no noticeable cost.
    """
    available = is_available or tray_available
    waited = 0.0
    window: StatusWindow | None = None

    def try_show() -> None:
        nonlocal waited, window
        if available():
            poll.stop()
            view.show()
            if window is not None:
                window.close()
            if report:
                report_when_embedded(view.tray)
            return
        if waited == 0:
            print(f"{APP_NAME}: no system tray yet; waiting for one…", file=sys.stderr)
        waited += poll.interval() / 1000
        if waited >= wait_seconds and window is None:
            print(f"{APP_NAME}: {NO_TRAY_TEXT.splitlines()[0]}", file=sys.stderr)
            window = status_window(NO_TRAY_TEXT)
            window.present()
            poll.setInterval(slow_poll_ms)

    poll = QTimer(app)
    poll.setInterval(poll_ms)
    poll.timeout.connect(try_show)
    try_show()
    if not view.tray.isVisible():
        poll.start()


def tray_available() -> bool:
    """Offscreen (tests, benchmarks) has no tray but can still build and show the icon."""
    return QSystemTrayIcon.isSystemTrayAvailable() or offscreen()


def offscreen() -> bool:
    return QApplication.platformName() == "offscreen"
