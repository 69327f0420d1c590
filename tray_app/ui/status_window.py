"""The status window: the session's state and the main actions, in a window of the app's own.

It stands in for the tray where there is none, answers "show yourself" where the tray icon has
no place on screen to pop a menu at (StatusNotifierItem hosts draw the menu themselves), and is
where a copy happens on a Wayland desktop that lets only a focused window write the clipboard:
the user's own click on its Copy button is what the compositor wants to see.
:class:`StatusWindowHost` holds the app's one window and wires those three moments to it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from tray_app import APP_NAME
from tray_app.core.status_text import status_lines
from tray_app.qt.keeper import Keeper

if TYPE_CHECKING:
    from tray_app.ui.tray import PendingCopy, TrayView


class StatusWindow(QWidget):
    """State, countdown and buttons; the status ticks every second only while it is shown."""

    def __init__(
        self,
        keeper: Keeper,
        actions: list[tuple[str, Callable[[], object]]],
        *,
        explanation: str | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle(APP_NAME)
        self.setMinimumWidth(440)
        self._keeper = keeper
        layout = QVBoxLayout(self)
        self.explanation = QLabel()
        self.explanation.setWordWrap(True)
        self.set_explanation(explanation)
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)  # the last error may quote a server
        self.note = QLabel()
        self.note.setObjectName("note")
        self.note.setWordWrap(True)
        self.note.hide()
        self.copy_button = QPushButton("Copy")
        self.copy_button.setObjectName("copy_pending")
        self.copy_button.hide()
        self._pending: Callable[[], object] | None = None
        self.copy_button.clicked.connect(self._copy_pending)
        layout.addWidget(self.copy_button)  # on top: the one thing to click when it shows
        layout.addWidget(self.note)
        layout.addWidget(self.explanation)
        layout.addWidget(self.status)
        self.buttons: dict[str, QPushButton] = {}
        for text, action in actions:
            button = QPushButton(text)
            button.clicked.connect(action)
            layout.addWidget(button)
            self.buttons[text] = button
        keeper.snapshot_changed.connect(self.refresh)
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.refresh)
        self.refresh()
        self.adjustSize()

    def refresh(self, _snapshot: object = None) -> None:
        self.status.setText("\n".join(status_lines(self._keeper.snapshot, time.time())))

    def set_explanation(self, text: str | None) -> None:
        """Why this window is up instead of a tray menu; None for none."""
        self.explanation.setText(text or "")
        self.explanation.setVisible(bool(text))
        self._fit()

    def _fit(self) -> None:
        """Grow to what the wrapped text now needs: a shown window keeps its old size otherwise,
        and the layout squeezes the labels until their lines are cut off."""
        layout = self.layout()
        if layout is not None:
            layout.activate()
        self.adjustSize()

    def show_note(self, text: str) -> None:
        """A line under the status: what just happened, or what to do next."""
        self.note.setText(text)
        self.note.setVisible(bool(text))
        self._fit()

    def offer_copy(self, why: str, copy: Callable[[], object]) -> None:
        """A big Copy button, focused, for the copy the desktop would not take from the tray."""
        self._pending = copy
        self.show_note(why)
        self.copy_button.show()
        self.copy_button.setDefault(True)
        self._fit()
        self.present()
        self.copy_button.setFocus()

    def _copy_pending(self) -> None:
        if self._pending is not None:
            self._pending()

    def present(self) -> None:
        """Show, raise and ask for focus (the window manager may still decide otherwise)."""
        self.show()
        self.raise_()
        self.activateWindow()

    def showEvent(self, event: QShowEvent) -> None:
        self._timer.start()
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        self._timer.stop()
        super().hideEvent(event)


def window_actions(keeper: Keeper, view: TrayView) -> list[tuple[str, Callable[[], object]]]:
    """The status window's buttons: the tray menu's main entries."""
    return [
        ("Copy session ID", view.copy_session_id),
        ("Ping now", keeper.ping_now),
        ("Sign in…", view.sign_in_requested.emit),
        ("Recent events…", view.events_requested.emit),
        ("Settings…", view.settings_requested.emit),
        ("Quit", view.quit_requested.emit),
    ]


class StatusWindowHost:
    """The app's one status window, built on first use, and what opens it.

    No tray (:func:`tray_app.ui.tray_wait.show_tray_when_available` asks for
    :meth:`status_window`), a second launch's "show yourself" (:meth:`show`), and a copy the
    desktop takes only from a focused window (the view's ``copy_needs_window``).
    """

    def __init__(self, keeper: Keeper, view: TrayView) -> None:
        self._keeper = keeper
        self._view = view
        self.window: StatusWindow | None = None
        view.copy_needs_window.connect(self._offer_copy)
        view.copy_reported.connect(self._report)

    def status_window(self, explanation: str | None = None) -> StatusWindow:
        """The one status window, built on first use; ``explanation`` replaces its note on why."""
        if self.window is None:
            self.window = StatusWindow(self._keeper, window_actions(self._keeper, self._view))
        self.window.set_explanation(explanation)
        return self.window

    def show(self) -> bool:
        """A second launch asked us to show ourselves: the menu at the icon, else the window.

        Only an XEmbed icon has a place on screen; on StatusNotifierItem hosts (and so on every
        Wayland desktop) the geometry is empty and a menu popped there would land in a corner
        or nowhere, so the status window opens instead.
        """
        view = self._view
        window = self.window
        if window is not None and window.isVisible():
            window.present()
        elif view.tray.isVisible() and not view.tray.geometry().isEmpty():
            view.menu.popup(view.tray.geometry().center())
        else:
            self.status_window().present()
        return True

    def _offer_copy(self, pending: PendingCopy, why: str) -> None:
        """The copy the tray could not make: the window's Copy button makes it from there."""
        view = self._view
        self.status_window().offer_copy(
            why,
            lambda: view.copy_secret(
                pending.text, pending.title, pending.detail, pending.holds_id, from_window=True
            ),
        )

    def _report(self, _copied: bool, text: str) -> None:
        if self.window is not None and self.window.isVisible():
            self.window.show_note(text)
