"""Whether this process's tray icon is registered with a StatusNotifierItem host.

On SNI hosts (KDE, XFCE, LXQt, waybar, GNOME's AppIndicator extension) Qt registers the icon
with ``org.kde.StatusNotifierWatcher`` and ``QSystemTrayIcon.geometry()`` stays empty, so the
registration is the only sign that the icon is on a panel. Qt registers under a connection
of its own (unique name, no well-known ``org.kde.StatusNotifierItem-PID-N``), so an entry is
matched to us by the process ID behind its bus name. Hosts spell entries ``:1.7/Path`` or
``:1.7@/Path`` (GNOME); a bare well-known name is possible too.
"""

from __future__ import annotations

import os

from PySide6.QtDBus import QDBusConnection, QDBusMessage

WATCHER = "org.kde.StatusNotifierWatcher"
WATCHER_PATH = "/StatusNotifierWatcher"
CALL_TIMEOUT_MS = 500


def _call(service: str, path: str, interface: str, method: str, *args: object) -> list[object]:
    message = QDBusMessage.createMethodCall(service, path, interface, method)
    message.setArguments(list(args))
    reply = QDBusConnection.sessionBus().call(message, timeout=CALL_TIMEOUT_MS)
    if reply.type() != QDBusMessage.MessageType.ReplyMessage:
        return []
    return list(reply.arguments())


def bus_name_of(entry: str) -> str:
    """The bus name in a watcher entry: ``:1.7/StatusNotifierItem`` → ``:1.7``."""
    for separator in ("@/", "/"):
        if separator in entry:
            return entry.split(separator, 1)[0]
    return entry


def registered_items() -> list[str]:
    """The watcher's ``RegisteredStatusNotifierItems``; empty without a watcher."""
    answer = _call(
        WATCHER,
        WATCHER_PATH,
        "org.freedesktop.DBus.Properties",
        "Get",
        WATCHER,
        "RegisteredStatusNotifierItems",
    )
    if not answer:
        return []
    value = answer[0]
    variant = getattr(value, "variant", None)
    items = variant() if callable(variant) else value
    return [str(item) for item in items] if isinstance(items, list) else []


def registered_by_this_process(pid: int | None = None) -> bool:
    """True once an item of process ``pid`` (this one by default) is registered."""
    wanted = os.getpid() if pid is None else pid
    for entry in registered_items():
        answer = _call(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "GetConnectionUnixProcessID",
            bus_name_of(entry),
        )
        if answer and answer[0] == wanted:
            return True
    return False
