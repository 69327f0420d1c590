"""The tray icon and its menu: a view of the keeper's state, and the user's hands on it.

Nothing here decides anything about the session. The icon is redrawn when the
state changes and on the keeper's ``ticked``, which comes when the shown minute
changes (the keeper aims its one timer at the expiry's minute grid, so the
redraw costs no wake-up of its own); the menu's status line ticks every second
only while the menu is open, so an idle tray costs no CPU.

"Open" means the Qt menu widget is on screen (XEmbed trays, the no-tray window's
menu). On StatusNotifierItem hosts the panel draws the menu from its D-Bus export and
Qt only hears ``AboutToShow``: xfce4-panel and waybar never say when it closed. There
the status line is refreshed on each ``AboutToShow`` and never ticks, so a menu opened
once cannot keep the app and the panel busy. Each tick checks that the widget is still
on screen, so a tick that somehow outlived its menu stops at the next second.

"Copy session ID" is the first entry: GNOME's AppIndicator extension opens the menu on
a left click, where other hosts copy, so the copy stays one click away on both.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from tray_app import APP_NAME
from tray_app.core.redact import mask_id
from tray_app.core.session import Event
from tray_app.core.state import Snapshot, State
from tray_app.core.status_text import account_line, balance_text, status_lines
from tray_app.qt.keeper import Keeper
from tray_app.ui.clipboard import CopyResult, SecretClipboard
from tray_app.ui.copy_menu import CopyMenu
from tray_app.ui.icons import StatusIconCache
from tray_app.ui.notify import COPY_ID_ACTION, Notifier

__all__ = ["PendingCopy", "TrayView", "balance_text", "status_lines"]

log = logging.getLogger(__name__)

COPY_CONFIRM_MS = 1500


@dataclass(frozen=True)
class PendingCopy:
    """A copy waiting for the user's click in the status window (the arguments of copy_secret)."""

    text: str
    title: str
    detail: str
    holds_id: bool

    def __repr__(self) -> str:  # the text is a secret
        return f"PendingCopy(title={self.title!r})"


def live_session_id(snapshot: Snapshot, now: float) -> str | None:
    """The session ID if it can still work: not one that expired while paused, nor past its
    expiry, nor one being replaced by a sign-in (no expiry while the auth runs)."""
    if snapshot.session_id and snapshot.expires_at is not None and now < snapshot.expires_at:
        return snapshot.session_id
    return None


class TrayView(QObject):
    """QSystemTrayIcon plus menu, driven only by the keeper's signals."""

    sign_in_requested = Signal()
    settings_requested = Signal()
    events_requested = Signal()
    forget_requested = Signal()
    start_at_login_toggled = Signal(bool)
    quit_requested = Signal()
    copy_needs_window = Signal(object, str)
    """(PendingCopy, why): a copy that only a click in the app's own window can make."""
    copy_reported = Signal(bool, str)
    """(copied, text): the outcome of a copy, for the status window's note."""

    def __init__(
        self,
        keeper: Keeper,
        notifier: Notifier,
        clipboard: SecretClipboard,
        *,
        demo_note: str | None = None,
        inbox_url: str | None = None,
        panel: str = "auto",
        tray: QSystemTrayIcon | None = None,
        clock: Callable[[], float] = time.time,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._keeper = keeper
        self._notifier = notifier
        self._clipboard = clipboard
        self._clock = clock
        self._panel = panel
        self._icons = StatusIconCache()
        self._balance_asked_for: str | None = None
        self._copy_holds_id = True
        self.tray = tray or QSystemTrayIcon()
        self.tray.setParent(self)
        self.menu = QMenu()
        self._build_menu(demo_note)
        if inbox_url:  # the demo's simulator: its inbox opens in the user's browser
            self.inbox_action = QAction("Open the simulator's inbox", self.menu)
            self.inbox_action.triggered.connect(lambda: QDesktopServices.openUrl(QUrl(inbox_url)))
            self.menu.insertAction(self.settings_action, self.inbox_action)
        self.tray.setContextMenu(self.menu)
        self.tray.activated.connect(self._activated)
        self._menu_timer = QTimer(self)
        self._menu_timer.setInterval(1000)
        self._menu_timer.timeout.connect(self._tick)
        self.menu.aboutToShow.connect(self._menu_opened)
        self.menu.aboutToHide.connect(self._menu_closed)
        self.menu.installEventFilter(self)
        keeper.snapshot_changed.connect(self.refresh)
        keeper.ticked.connect(self.refresh)
        keeper.event.connect(self._notify)
        # A copied ID that stopped working (renewed, expired, signed out) leaves the clipboard.
        keeper.session_id_changed.connect(lambda _id: self._forget_dead_copy())
        notifier.action_invoked.connect(self._notification_clicked)
        self.refresh()

    def _build_menu(self, demo_note: str | None) -> None:
        menu = self.menu
        self.copy_action = menu.addAction("Copy session ID")
        self.copy_action.triggered.connect(self.copy_session_id)
        menu.addSeparator()
        if demo_note:
            menu.addAction(demo_note).setEnabled(False)
        self.status_action = menu.addAction("")
        self.status_action.setEnabled(False)
        self.account_action = menu.addAction("")
        self.account_action.setEnabled(False)
        self.balance_action = menu.addAction(balance_text(None))
        self.balance_action.setToolTip("Fetch the balance now (this keeps the session alive too)")
        self.balance_action.triggered.connect(self._keeper.fetch_balance)
        menu.addSeparator()
        self.ping_action = menu.addAction("Ping now")
        self.ping_action.triggered.connect(self._keeper.ping_now)
        self.sign_action = menu.addAction("Sign in…")
        self.sign_action.triggered.connect(self._sign_in_or_out)
        self.pause_action = menu.addAction("Pause keep-alive")
        self.pause_action.triggered.connect(self._pause_or_resume)
        self.forget_action = menu.addAction("Forget credentials…")
        self.forget_action.setToolTip("Delete the stored API ID, username and password")
        self.forget_action.triggered.connect(self.forget_requested)
        menu.addSeparator()
        self.copy_menu = CopyMenu(menu, self._keeper, self.copy_secret, self._say)
        menu.addSeparator()
        self.events_action = menu.addAction("Recent events…")
        self.events_action.triggered.connect(self.events_requested)
        self.settings_action = menu.addAction("Settings…")
        self.settings_action.triggered.connect(self.settings_requested)
        self.login_action = QAction("Start at login", menu)
        self.login_action.setCheckable(True)
        self.login_action.toggled.connect(self.start_at_login_toggled)
        menu.addAction(self.login_action)
        menu.addSeparator()
        self.quit_action = menu.addAction("Quit")
        self.quit_action.triggered.connect(self.quit_requested)

    def show(self) -> None:
        self.tray.show()

    def set_panel(self, panel: str) -> None:
        self._panel = panel
        self.refresh()

    def set_start_at_login(self, checked: bool) -> None:
        """Reflect the real autostart state without firing the toggle again."""
        blocked = self.login_action.blockSignals(True)
        self.login_action.setChecked(checked)
        self.login_action.blockSignals(blocked)

    def refresh(self, _snapshot: object = None) -> None:
        """Redraw from the keeper's current snapshot (on a change, and on each keeper tick)."""
        snapshot = self._keeper.snapshot
        now = self._clock()
        self.tray.setIcon(self._icons.icon(snapshot, now, self._panel))
        self.tray.setToolTip(
            "\n".join([APP_NAME, self._account_text(), *status_lines(snapshot, now, precise=False)])
        )
        self._refresh_status_line()
        self._refresh_actions(snapshot)
        self._fetch_balance_once_per_session(snapshot)
        if snapshot.expires_at is None or now >= snapshot.expires_at:
            self._forget_dead_copy()

    def _fetch_balance_once_per_session(self, snapshot: Snapshot) -> None:
        """Show the credit soon after each sign-in; later only when the user asks."""
        if snapshot.state is State.ACTIVE and snapshot.session_id != self._balance_asked_for:
            self._balance_asked_for = snapshot.session_id
            QTimer.singleShot(0, self._keeper.fetch_balance)

    def set_proxy_url(self, url: str | None) -> None:
        """The local proxy's URL while it runs (None when it stops), for Copy as… and the menu."""
        self.copy_menu.set_proxy_url(url)

    def copy_session_id(self) -> None:
        session_id = live_session_id(self._keeper.snapshot, self._clock())
        if not session_id:
            self._say(APP_NAME, "No live session to copy.")
            return
        self.copy_secret(session_id, "Session ID copied", mask_id(session_id))

    def copy_secret(
        self,
        text: str,
        title: str,
        detail: str,
        holds_id: bool = True,
        *,
        from_window: bool = False,
    ) -> None:
        """Copy ``text`` marked as a secret, and confirm with ``title`` and ``detail``.

        ``holds_id``: the text stops working with the session ID (the ID, a curl command
        with it), so it leaves the clipboard when the ID changes or dies. The confirmation
        comes only once the clipboard is known to hold the text. Where the desktop takes a
        copy only from a focused window (GNOME on Wayland), or the copy failed, the status
        window is asked for (``copy_needs_window``) with a Copy button that does it from
        there (``from_window=True``); a failure is said plainly, never "copied".
        """
        outcome = self._clipboard.copy(text, from_window=from_window)
        if outcome.copied:
            self._copy_holds_id = holds_id
            self._say(title, detail)
            self.copy_reported.emit(True, f"{title}.")
            return
        pending = PendingCopy(text, title, detail, holds_id)
        if outcome.result is not CopyResult.NEEDS_WINDOW:
            self._say("Not copied", outcome.reason)
            self.copy_reported.emit(False, outcome.reason)
        if not from_window:
            self.copy_needs_window.emit(pending, outcome.reason)

    def _forget_dead_copy(self) -> None:
        """A copied ID that stopped working leaves the clipboard; a copy for the proxy stays."""
        if self._copy_holds_id:
            self._clipboard.clear_if_ours()

    def _say(self, title: str, detail: str) -> None:
        self.tray.showMessage(title, detail, QSystemTrayIcon.MessageIcon.NoIcon, COPY_CONFIRM_MS)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason is QSystemTrayIcon.ActivationReason.Trigger:
            self.copy_session_id()

    def _menu_opened(self) -> None:
        """Fresh text for whoever draws the menu; the tick starts with the Qt widget's Show."""
        self._refresh_status_line()

    def _menu_closed(self) -> None:
        self._menu_timer.stop()

    def _start_ticking(self) -> None:
        self._menu_timer.start()

    def _tick(self) -> None:
        if not self.menu.isVisible():
            self._menu_timer.stop()
            return
        self._refresh_status_line()

    @property
    def menu_ticking(self) -> bool:
        """True while the status line is refreshed every second."""
        return self._menu_timer.isActive()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Tick while the Qt menu widget is on screen: its Show and Hide are the truth."""
        if watched is self.menu:
            if event.type() == QEvent.Type.Show:
                self._start_ticking()
            elif event.type() == QEvent.Type.Hide:
                self._menu_closed()
        return False

    def _refresh_status_line(self) -> None:
        snapshot = self._keeper.snapshot
        lines = status_lines(snapshot, self._clock())
        self.status_action.setText(" · ".join(lines[:2]))
        self.status_action.setToolTip("\n".join(lines))
        self.balance_action.setText(balance_text(snapshot.balance))
        self.account_action.setText(self._account_text())

    def _account_text(self) -> str:
        return account_line(self._keeper.account, self._keeper.base_url)

    def _refresh_actions(self, snapshot: Snapshot) -> None:
        self.copy_menu.refresh()
        has_session = snapshot.session_id is not None
        signed_in = snapshot.state not in (State.SIGNED_OUT, State.FAILED, State.EXPIRED)
        self.copy_action.setEnabled(live_session_id(snapshot, self._clock()) is not None)
        self.ping_action.setEnabled(snapshot.state in (State.ACTIVE, State.RETRYING))
        self.balance_action.setVisible(has_session)
        self.sign_action.setText("Sign out" if signed_in else "Sign in…")
        paused = snapshot.state is State.PAUSED
        self.pause_action.setText("Resume keep-alive" if paused else "Pause keep-alive")
        self.pause_action.setEnabled(signed_in)
        # Nothing known to be stored, nothing to forget.
        self.forget_action.setEnabled(self._keeper.account is not None)

    def _sign_in_or_out(self) -> None:
        if self.sign_action.text() == "Sign out":
            self._keeper.sign_out()
        else:
            self.sign_in_requested.emit()

    def _pause_or_resume(self) -> None:
        if self._keeper.snapshot.state is State.PAUSED:
            self._keeper.resume()
        else:
            self._keeper.pause()

    def _notification_clicked(self, action: str) -> None:
        """A button on our notification: "Copy new ID" copies the ID of this moment."""
        if action == COPY_ID_ACTION:
            self.copy_session_id()

    def _notify(self, event: Event) -> None:
        snapshot = self._keeper.snapshot
        self._notifier.handle(event, session_id=snapshot.session_id, error=snapshot.last_error)
