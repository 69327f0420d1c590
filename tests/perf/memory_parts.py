"""Whose resident memory the app holds beyond the stack floor, measured one part at a time.

Run as a child process (``python -m tests.perf.memory_parts``, offscreen): it loads what the
app loads in steps and prints one JSON object, each step's RSS growth in KiB. The order
follows the stack floor first (Qt, requests, keyring), so what comes after is the app's:
the Qt module it adds (QtDBus, for logind and the StatusNotifierItem check), its network
watch (one netlink socket), its own modules, and at the end what the start-up release gives
back.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable

from tests.perf.procs import rss_kib

WATCHES: list[object] = []
"""What a step keeps alive, as the app does, so that its memory stays counted."""


def _qt() -> None:
    from PySide6.QtWidgets import QApplication

    QApplication.instance() or QApplication(sys.argv[:1])


def _stack() -> None:
    import keyring.backends.SecretService  # noqa: F401
    import requests

    requests.Session()


def _qt_dbus() -> None:
    import PySide6.QtDBus  # noqa: F401


def _network_watch() -> None:
    from tray_app.services.netlink import RouteWatch

    WATCHES.append(RouteWatch())


def _app_modules() -> None:
    import tray_app.app
    import tray_app.cli
    import tray_app.qt.keeper
    import tray_app.qt.wakeups
    import tray_app.services.logs
    import tray_app.ui.actions
    import tray_app.ui.tray  # noqa: F401


def _release() -> None:
    from tray_app.core.memory import release_after_start

    release_after_start()


STEPS: list[tuple[str, Callable[[], None]]] = [
    ("PySide6 and a QApplication", _qt),
    ("requests and keyring's Secret Service (the stack floor's libraries)", _stack),
    ("QtDBus (logind's PrepareForSleep)", _qt_dbus),
    ("the network watch (a netlink socket and its tables)", _network_watch),
    ("the app's own modules", _app_modules),
    ("the start-up release (linecache, gc, malloc_trim)", _release),
]


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    parts: dict[str, int] = {"interpreter": rss_kib()}
    for name, step in STEPS:
        before = rss_kib()
        step()
        parts[name] = rss_kib() - before
    print(json.dumps(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
