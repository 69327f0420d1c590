"""Ctrl-C, SIGTERM and SIGHUP for a Qt event loop, shared by the tray and the headless keep-alive.

SIGHUP (the terminal closed, or the session ended without a SIGTERM) is a request to quit
like the others: without a handler the process would die on the spot, skipping the
teardown that flushes the keyring and removes the demo's temporary folder.
"""

from __future__ import annotations

import signal
import socket

from PySide6.QtCore import QCoreApplication, QSocketNotifier, QTimer


def quit_on_signals(app: QCoreApplication) -> QSocketNotifier:
    """Let Ctrl-C, SIGTERM and SIGHUP end the Qt event loop cleanly, without a polling timer.

    Python runs signal handlers only between bytecodes; while Qt waits in its
    event loop, a wake-up socket watched by a QSocketNotifier gives it that chance.
    """
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    signal.set_wakeup_fd(writer.fileno())
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, app)

    def drain() -> None:
        try:
            reader.recv(64)
        except BlockingIOError:
            return

    def quit_app(_signum: int, _frame: object) -> None:
        # Queued rather than app.quit(): a signal that lands after the handlers are set but
        # before the event loop runs would otherwise be dropped (quit() does nothing while
        # no loop runs) and the app would start anyway, to be killed later mid-teardown.
        QTimer.singleShot(0, app.quit)

    notifier.activated.connect(drain)
    notifier.sockets = (reader, writer)  # type: ignore[attr-defined]
    signal.signal(signal.SIGINT, quit_app)
    signal.signal(signal.SIGTERM, quit_app)
    if hasattr(signal, "SIGHUP"):  # not on Windows
        signal.signal(signal.SIGHUP, quit_app)
    return notifier
