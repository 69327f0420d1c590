"""The sign-in dialog (and, re-exported, the settings dialog): plain widgets, non-modal.

Neither dialog blocks the event loop (the keep-alive must go on while one is open) and neither
talks to the network or the keyring itself: the sign-in dialog hands its credentials to its
owner and waits to be told how the attempt went; the settings dialog writes through the
validating :class:`~tray_app.services.settings.Settings` and says so with ``applied``.

Widgets are created without a parent and adopted by the layouts in reading order, so the
tab order is the visual order with no explicit chain to keep in step.

Keyboard rules, because a failed attempt used to leave Enter meaning Cancel: the fields turn
read-only (not disabled) while an attempt runs, so the focus never leaves them; no button is
an auto-default, so Enter means "Sign in" wherever the focus has been.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QPalette
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from tray_app.services.credentials import Credentials
from tray_app.ui.forms import (
    CONCEAL_ICONS,
    REVEAL_ICONS,
    eye_icon,
    make_non_blocking,
    message_label,
    note_label,
    plain_buttons,
    themed_icon,
    with_message,
)
from tray_app.ui.settings_dialog import SettingsDialog

__all__ = ["SettingsDialog", "SignInDialog"]

_API_ID = re.compile(r"[0-9]+")


class SignInDialog(QDialog):
    """Asks for the API credentials and stays open until the owner reports how the auth went.

    Accepting does not close the dialog: it emits ``submitted`` and shows "Signing in…"; the
    owner answers with :meth:`succeeded` (closes) or :meth:`show_error` (lets the user fix
    the input without retyping it). Cancel stays available while busy, since a hung request
    must never trap the user; the keeper finishes or fails the attempt on its own.
    """

    submitted = Signal(Credentials)

    def __init__(
        self,
        api_id: str = "",
        user: str = "",
        *,
        storage_note: str,
        demo: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        make_non_blocking(self, "Sign in")
        self.setMinimumWidth(380)
        self._busy = False

        self._api_id = self._line_edit("api_id", "API ID", api_id)
        self._api_id.setPlaceholderText("e.g. 3456789")
        self._api_id.setInputMethodHints(Qt.InputMethodHint.ImhDigitsOnly)
        self._user = self._line_edit("user", "Username", user)
        self._password = self._line_edit("password", "Password", "")
        self._password.setEchoMode(QLineEdit.EchoMode.Password)
        self._add_reveal_action()

        # A hint rather than a QValidator: a validator would silently refuse a pasted ID.
        self._api_id_hint = message_label(1)
        self._api_id_hint.setObjectName("api_id_hint")
        self._api_id_hint.setText("The API ID is a number: digits only.")
        self._status = message_label(1, error=False)
        self._status.setObjectName("status")
        self._status.setText("Signing in…")
        self._error = message_label(3)
        self._error.setObjectName("error")

        self._buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self._sign_in = self._buttons.button(QDialogButtonBox.StandardButton.Ok)
        self._sign_in.setText("Sign in")
        plain_buttons(self._buttons, self._sign_in)
        self._buttons.accepted.connect(self._submit)
        self._buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow(*with_message("&API ID:", self._api_id, self._api_id_hint))
        form.addRow("&Username:", self._user)
        form.addRow("&Password:", self._password)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        # "Signing in…" and an error never show together, so they share one reserved place.
        messages = QGridLayout()
        messages.addWidget(self._error, 0, 0)
        messages.addWidget(self._status, 0, 0)
        layout.addLayout(messages)
        storage = note_label(storage_note)
        storage.setObjectName("storage_note")
        layout.addWidget(storage)
        if demo:
            from tray_app.core.demo import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER

            hint = note_label(f"Demo account: {DEMO_API_ID} / {DEMO_USER} / {DEMO_PASSWORD}")
            hint.setObjectName("demo_hint")
            layout.addWidget(hint)
        layout.addWidget(self._buttons)

        for edit in (self._api_id, self._user, self._password):
            edit.textChanged.connect(self._update_validity)
            edit.textEdited.connect(self._error.hide)
        self._update_validity()
        self._first_empty_field().setFocus()

    def show_error(self, text: str) -> None:
        """The attempt failed: say why, give the inputs back as typed, and ask for the password."""
        self._set_busy(False)
        self._error.setText(text)
        self._error.show()
        self._password.setFocus()
        self._password.selectAll()

    def prefill(self, credentials: Credentials) -> None:
        """Fill in what the keyring holds, unless the user has started typing already."""
        if self._busy or self._password.text() or self._password.isModified():
            return
        if not self._api_id.text():
            self._api_id.setText(credentials.api_id)
        if not self._user.text():
            self._user.setText(credentials.user)
        if (self._api_id.text(), self._user.text()) == (credentials.api_id, credentials.user):
            self._password.setText(credentials.password)
            self._password.setFocus()
            self._password.selectAll()

    def succeeded(self) -> None:
        """The API accepted the credentials: close as accepted."""
        self._set_busy(False)
        self.accept()

    def _line_edit(self, name: str, accessible_name: str, text: str) -> QLineEdit:
        edit = QLineEdit(text)
        edit.setObjectName(name)
        edit.setAccessibleName(accessible_name)
        return edit

    def _add_reveal_action(self) -> None:
        """A checkable eye at the end of the password field that shows what was typed."""
        colour = self.palette().color(QPalette.ColorRole.Text)
        action = QAction(self)
        action.setObjectName("reveal_password")
        action.setCheckable(True)
        shown = themed_icon(CONCEAL_ICONS, eye_icon(colour, crossed=True))
        hidden = themed_icon(REVEAL_ICONS, eye_icon(colour, crossed=False))

        def follow(reveal: bool) -> None:
            self._password.setEchoMode(
                QLineEdit.EchoMode.Normal if reveal else QLineEdit.EchoMode.Password
            )
            action.setIcon(shown if reveal else hidden)
            action.setText("Hide password" if reveal else "Show password")
            action.setToolTip(action.text())

        action.toggled.connect(follow)
        follow(False)
        self._password.addAction(action, QLineEdit.ActionPosition.TrailingPosition)

    def _credentials(self) -> Credentials:
        """Spaces around the ID and user name are copy-paste noise; a password is taken as is."""
        return Credentials(
            self._api_id.text().strip(), self._user.text().strip(), self._password.text()
        )

    def _update_validity(self) -> None:
        credentials = self._credentials()
        id_ok = _API_ID.fullmatch(credentials.api_id) is not None
        self._api_id_hint.setVisible(bool(credentials.api_id) and not id_ok)
        self._api_id.setAccessibleDescription(
            self._api_id_hint.text() if self._api_id_hint.isVisibleTo(self) else ""
        )
        complete = id_ok and bool(credentials.user) and bool(credentials.password)
        self._sign_in.setEnabled(complete and not self._busy)

    def _submit(self) -> None:
        if not self._sign_in.isEnabled():
            return
        self._error.hide()
        self._set_busy(True)
        self.submitted.emit(self._credentials())

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        for widget in (self._api_id, self._user, self._password):
            widget.setReadOnly(busy)
        self._status.setVisible(busy)
        if busy:
            self.setCursor(Qt.CursorShape.BusyCursor)
        else:
            self.unsetCursor()
        self._update_validity()

    def _first_empty_field(self) -> QLineEdit:
        for edit in (self._api_id, self._user):
            if not edit.text().strip():
                return edit
        return self._password
