"""Desktop notifications: the freedesktop service over D-Bus, else the tray's own balloon.

Why not just ``QSystemTrayIcon.showMessage``: it reaches the notification service only
through a StatusNotifierItem tray; under an XEmbed tray Qt draws its own balloon, and some
desktops show nothing at all (shared/desktop-ci.md §4). So on Linux the notification goes to
``org.freedesktop.Notifications`` over the session bus, with jeepney, from a daemon thread:
jeepney blocks, and the GUI thread must not wait on a bus. Wherever that fails (no session
bus, nobody serving the name, a timeout, any other platform) the ``show_message`` fallback
gets it; a failure is a log line, never an exception.

Rules, from the design's "each event once, never a stream":

* The same :class:`Event` twice in a row is told once. Every event the keeper reports counts
  as "in between", including :attr:`Event.SIGNED_IN`, which shows nothing itself: so
  pass every event to :meth:`Notifier.handle`, not only those with a text.
* A notification replaces the previous one (``replaces_id`` is the id the server returned
  last time), so "expired" followed by "back online" leaves one bubble, the newer one.
* Expired and rejected are critical and stay until dismissed; the rest go after 8 s.
* The server keeps a bubble only while its sender is connected on some desktops (GNOME
  Shell drops those of a vanished app), so the worker keeps one connection open for the
  app's life and reconnects after a failure.
* Where the server has the "actions" capability, "session renewed" carries a "Copy new ID"
  button. Servers send ``ActionInvoked`` to the connection that sent the notification, so
  that connection is wrapped in a jeepney router whose receiver thread hands the click
  (for our own notifications only) to the GUI thread as :attr:`Notifier.action_invoked`.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, assert_never

from PySide6.QtCore import QObject, Qt, Signal, Slot

from tray_app import APP_ID, APP_NAME
from tray_app.core.os_threads import NamedThread
from tray_app.core.redact import mask_id, mask_text
from tray_app.core.session import Event

if TYPE_CHECKING:
    from jeepney import DBusAddress, Message
    from jeepney.io.threading import DBusConnection, DBusRouter

log = logging.getLogger(__name__)

ShowMessage = Callable[[str, str], object]

NORMAL_TIMEOUT_MS = 8000
REPLY_TIMEOUT_S = 5.0
CRITICAL_EVENTS = frozenset({Event.EXPIRED, Event.REJECTED})
COPY_ID_ACTION = "copy-id"
EVENT_ACTIONS: dict[Event, tuple[tuple[str, str], ...]] = {
    Event.ID_CHANGED: ((COPY_ID_ACTION, "Copy new ID"),),
}
"""Buttons per event, as (action key, label), where the server draws them."""
_URGENCY_NORMAL = 1
_URGENCY_CRITICAL = 2


def event_text(
    event: Event, *, session_id: str | None, error: str | None
) -> tuple[str, str] | None:
    """Title and body for ``event``; None for an event that shows no notification.

    ``SIGNED_IN`` is None: the user has just signed in themselves, or the app did so at
    start, and the icon turning green says it. ``session_id`` is shown masked only, and the
    API's error text is masked too, in case a server echoes a secret back.
    """
    match event:
        case Event.SIGNED_IN:
            return None
        case Event.ID_CHANGED:
            shown = f" ({mask_id(session_id)})" if session_id else ""
            return (
                "Session renewed with a new ID",
                f"The old ID no longer works. Click the tray icon to copy the new one{shown}.",
            )
        case Event.EXPIRED:
            return "Session expired", "Sign in again from the tray menu."
        case Event.REJECTED:
            reason = mask_text(error).strip().rstrip(".") if error else "The API refused them"
            return "Credentials rejected", f"{reason}. Fix them under Sign in…"
        case Event.BACK_ONLINE:
            return "Back online", "The session is alive again."
        case Event.NO_CREDIT:
            return (
                "No credit left",
                "The session stays alive, but messages will fail until the account is topped up.",
            )
        case _:
            assert_never(event)


def app_icon_file() -> str:
    """The app icon as an absolute file path for ``app_icon``, or "" when there is no file.

    A PNG, because every notification server reads one; inside a zip there is no path.
    """
    from tray_app.resources import app_icon_path

    icon = app_icon_path(128)
    if isinstance(icon, Path) and icon.is_file():
        return str(icon.resolve())
    return ""


@dataclass(frozen=True, slots=True)
class _Note:
    title: str
    body: str
    critical: bool
    actions: tuple[tuple[str, str], ...] = ()


class _Relay:
    """Takes the router's matched messages (it calls ``put_nowait``) straight to a callback."""

    def __init__(self, callback: Callable[[Message], None]) -> None:
        self._callback = callback

    def put_nowait(self, message: Message) -> None:
        self._callback(message)


class _Courier:
    """The D-Bus side, used by the worker thread alone: one connection, the last id.

    ``on_action`` is called on the router's receiver thread with the key of a button the
    user clicked on one of our notifications.
    """

    def __init__(self, address: str, icon: str, on_action: Callable[[str], None]) -> None:
        self._address = address
        self._icon = icon
        self._on_action = on_action
        self._connection: DBusConnection | None = None
        self._router: DBusRouter | None = None
        self._markup = False
        self._actions = False
        self._last_id = 0
        self._with_actions: set[int] = set()

    def deliver(self, note: _Note) -> None:
        """Send ``note``, replacing the previous one; raises whatever went wrong."""
        # html brings html.entities (0.6 MiB) along: loaded with the first note, not at start.
        import html

        from jeepney import new_method_call
        from jeepney.wrappers import unwrap_msg

        router = self._connect()
        body = html.escape(note.body, quote=False) if self._markup else note.body
        actions = [part for pair in note.actions for part in pair] if self._actions else []
        urgency = _URGENCY_CRITICAL if note.critical else _URGENCY_NORMAL
        hints = {"urgency": ("y", urgency), "desktop-entry": ("s", APP_ID)}
        timeout_ms = 0 if note.critical else NORMAL_TIMEOUT_MS
        arguments: tuple[object, ...] = (
            APP_NAME,
            self._last_id,
            self._icon,
            note.title,
            body,
            actions,
            hints,
            timeout_ms,
        )
        message = new_method_call(_service(), "Notify", "susssasa{sv}i", arguments)
        try:
            reply = router.send_and_get_reply(message, timeout=REPLY_TIMEOUT_S)
            (self._last_id,) = unwrap_msg(reply)
        except Exception:
            self.close()
            raise
        if actions:
            self._with_actions.add(self._last_id)
        else:
            self._with_actions.discard(self._last_id)

    def _connect(self) -> DBusRouter:
        """Open the connection once; ask what the server can do; listen for clicked buttons."""
        if self._router is not None:
            return self._router
        from jeepney import MatchRule, new_method_call
        from jeepney.bus_messages import message_bus
        from jeepney.io.threading import DBusRouter, open_dbus_connection
        from jeepney.wrappers import unwrap_msg

        connection = open_dbus_connection(self._address, auth_timeout=REPLY_TIMEOUT_S)
        router = DBusRouter(connection)
        try:
            reply = router.send_and_get_reply(
                new_method_call(_service(), "GetCapabilities"), timeout=REPLY_TIMEOUT_S
            )
            (capabilities,) = unwrap_msg(reply)
            self._markup = "body-markup" in capabilities
            self._actions = "actions" in capabilities
            if self._actions:
                rule = MatchRule(
                    type="signal",
                    interface=_service().interface,
                    member="ActionInvoked",
                    path=_service().object_path,
                )
                router.filter(rule, queue=_Relay(self._invoked))
                router.send_and_get_reply(message_bus.AddMatch(rule), timeout=REPLY_TIMEOUT_S)
        except Exception:
            router.close()
            connection.close()
            raise
        self._connection, self._router = connection, router
        return router

    def _invoked(self, message: Message) -> None:
        """On the router's thread: a button was clicked; ours only, never another app's."""
        notification_id, key = message.body
        if notification_id in self._with_actions:
            self._on_action(key)

    def close(self) -> None:
        if self._router is not None:
            self._router.close()
            self._router = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _service() -> DBusAddress:
    from jeepney import DBusAddress

    return DBusAddress(
        "/org/freedesktop/Notifications",
        bus_name="org.freedesktop.Notifications",
        interface="org.freedesktop.Notifications",
    )


class Notifier(QObject):
    """Tells the user about session events, once each; see the module docstring.

    ``bus_address`` is a D-Bus address for tests; None reads DBUS_SESSION_BUS_ADDRESS when a
    notification is sent. ``platform`` is ``sys.platform`` unless a test says otherwise.
    """

    sent = Signal(str)
    """The route a notification took: ``"dbus"`` or ``"tray"``."""
    action_invoked = Signal(str)
    """The user clicked a button of ours (an :data:`EVENT_ACTIONS` key), on the GUI thread."""

    _delivered = Signal(str, str, str)
    _clicked = Signal(str)

    def __init__(
        self,
        show_message: ShowMessage | None = None,
        *,
        bus_address: str | None = None,
        platform: str = sys.platform,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._show_message = show_message
        self._bus_address = bus_address
        self._platform = platform
        self.enabled = True
        """The settings toggle: when off, events still count for the "once" rule."""
        self.muted: set[Event] = set()
        """Events a window in front of the user shows already (the sign-in dialog shows a
        rejection): they count for the "once" rule but raise no notification."""
        self._last_event: Event | None = None
        self._jobs: queue.SimpleQueue[_Note | None] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._delivered.connect(self._on_delivered, Qt.ConnectionType.QueuedConnection)
        self._clicked.connect(self.action_invoked, Qt.ConnectionType.QueuedConnection)

    def set_fallback(self, show_message: ShowMessage | None) -> None:
        """Where notifications go without a notification service (the tray's showMessage)."""
        self._show_message = show_message

    def handle(self, event: Event, *, session_id: str | None, error: str | None) -> None:
        """Notify with :func:`event_text`; an event without a text still counts for the rule."""
        text = event_text(event, session_id=session_id, error=error)
        if text is None:
            self._last_event = event
            return
        self.notify(event, *text)

    def notify(self, event: Event, title: str, body: str) -> None:
        """Show ``title``/``body`` unless ``event`` repeats the last one or notifications are off.

        Returns at once: the D-Bus call happens on the worker thread.
        """
        if event is self._last_event:
            log.debug("notification for %r dropped: same event as the last one", event.value)
            return
        self._last_event = event
        if not self.enabled:
            return
        if event in self.muted:
            log.debug("notification for %r not shown: a window shows it", event.value)
            return
        if not self._platform.startswith("linux"):
            self._fallback(title, body)
            return
        if self._address() is None:
            log.warning("no session bus (DBUS_SESSION_BUS_ADDRESS unset): notifying in the tray")
            self._fallback(title, body)
            return
        self._start_worker()
        actions = EVENT_ACTIONS.get(event, ())
        self._jobs.put(_Note(title, body, critical=event in CRITICAL_EVENTS, actions=actions))

    def close(self) -> None:
        """Stop the worker and close its connection (waits at most a second)."""
        if self._worker is None:
            return
        self._jobs.put(None)
        self._worker.join(timeout=1.0)
        self._worker = None

    def _address(self) -> str | None:
        return self._bus_address or os.environ.get("DBUS_SESSION_BUS_ADDRESS") or None

    def _start_worker(self) -> None:
        if self._worker is not None:
            return
        address = self._address()
        assert address is not None
        courier = _Courier(address, app_icon_file(), self._clicked.emit)
        self._worker = NamedThread(
            target=self._work, args=(courier,), name="notifications", daemon=True
        )
        self._worker.start()

    def _work(self, courier: _Courier) -> None:
        """The worker thread: send each note; any failure hands the note to the fallback."""
        while (note := self._jobs.get()) is not None:
            try:
                courier.deliver(note)
                route = "dbus"
            except Exception as exc:
                log.warning("desktop notification failed (%s): notifying in the tray", exc)
                route = "tray"
            try:
                self._delivered.emit(route, note.title, note.body)
            except RuntimeError:
                break
        courier.close()

    @Slot(str, str, str)
    def _on_delivered(self, route: str, title: str, body: str) -> None:
        if route == "tray":
            self._fallback(title, body)
        else:
            self.sent.emit(route)

    def _fallback(self, title: str, body: str) -> None:
        if self._show_message is None:
            log.warning("notification not shown, no tray to show it: %s", title)
            return
        self._show_message(title, body)
        self.sent.emit("tray")
