"""The sign-in and settings dialogs: plain widgets, non-modal, shown with ``show()``.

Neither dialog blocks the event loop (the keep-alive must go on while one is open) and neither
talks to the network or the keyring itself: the sign-in dialog hands its credentials to its
owner and waits to be told how the attempt went; the settings dialog writes through the
validating :class:`~tray_app.services.settings.Settings` setters and says so with ``applied``.

Widgets are created without a parent and adopted by the layouts in reading order, so the
tab order is the visual order with no explicit chain to keep in step.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QPainter, QPainterPath, QPalette, QPen, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from tray_app import APP_NAME
from tray_app.core.protocol import validate_base_url
from tray_app.services.credentials import Credentials
from tray_app.services.settings import Settings

_API_ID = re.compile(r"[0-9]+")
_ICON_THEMES = (("Auto", "auto"), ("Light panel", "light"), ("Dark panel", "dark"))
# Theme icons for the password toggle (GNOME names first, then KDE's); drawn when none exist.
_REVEAL_ICONS = ("view-reveal-symbolic", "view-visible", "password-show-on")
_CONCEAL_ICONS = ("view-conceal-symbolic", "view-hidden", "password-show-off")


def _capitalised(message: str) -> str:
    return message[:1].upper() + message[1:]


def _note_label(text: str) -> QLabel:
    """Secondary text: smaller and in the palette's muted colour, so it reads as an aside."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 0.9)
    label.setFont(font)
    return label


def _error_label() -> QLabel:
    """Red text, readable on dark themes too; selectable so that an error code can be copied.

    Plain text only: an error may quote a server, and rich text would render its HTML
    (``<img>`` included, which loads local files).
    """
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    palette = label.palette()
    dark = palette.color(QPalette.ColorRole.Window).lightnessF() < 0.5
    palette.setColor(QPalette.ColorRole.WindowText, QColor("#ff8787" if dark else "#c92a2a"))
    label.setPalette(palette)
    label.hide()
    return label


def _eye_icon(colour: QColor, *, crossed: bool) -> QIcon:
    """An eye (struck through for "hide"), for desktops whose icon theme has none."""
    size = 64
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(colour, 5)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    painter.setPen(pen)
    outline = QPainterPath(QPointF(6, 32))
    outline.quadTo(QPointF(32, 4), QPointF(58, 32))
    outline.quadTo(QPointF(32, 60), QPointF(6, 32))
    painter.drawPath(outline)
    painter.setBrush(colour)
    painter.drawEllipse(QRectF(23, 23, 18, 18))
    if crossed:
        painter.drawLine(QPointF(12, 54), QPointF(52, 10))
    painter.end()
    return QIcon(pixmap)


def _themed_icon(names: tuple[str, ...], fallback: QIcon) -> QIcon:
    for name in names:
        if QIcon.hasThemeIcon(name):
            return QIcon.fromTheme(name)
    return fallback


def _fit_height(dialog: QDialog) -> None:
    """Grow or shrink to the wrapped messages just shown or hidden; a window does not by itself."""
    layout = dialog.layout()
    if not dialog.isVisible() or layout is None or not layout.hasHeightForWidth():
        return
    layout.activate()
    dialog.resize(dialog.width(), layout.totalHeightForWidth(dialog.width()))


def _with_message(text: str, field: QWidget, message: QLabel) -> tuple[QLabel, QVBoxLayout]:
    """A form row whose (usually hidden) message sits right under the field.

    The pair shares one row, in a column, because a wrapped label in a row of its own gets
    the height of its narrow size hint instead of the height its text needs.
    """
    label = QLabel(text)
    label.setBuddy(field)
    column = QVBoxLayout()
    column.setSpacing(2)
    column.addWidget(field)
    column.addWidget(message)
    return label, column


def _make_non_blocking(dialog: QDialog, title: str) -> None:
    """The tray shows dialogs with show(): the keep-alive and the menu must not wait on them."""
    dialog.setWindowTitle(f"{title} — {APP_NAME}")
    dialog.setModal(False)
    dialog.setWindowModality(Qt.WindowModality.NonModal)


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
        _make_non_blocking(self, "Sign in")
        self.setMinimumWidth(380)

        self._api_id = self._line_edit("api_id", "API ID", api_id)
        self._api_id.setPlaceholderText("e.g. 3456789")
        self._api_id.setInputMethodHints(Qt.InputMethodHint.ImhDigitsOnly)
        self._user = self._line_edit("user", "Username", user)
        self._password = self._line_edit("password", "Password", "")
        self._password.setEchoMode(QLineEdit.EchoMode.Password)
        self._add_reveal_action()

        # A hint rather than a QValidator: a validator would silently refuse a pasted ID.
        self._api_id_hint = _error_label()
        self._api_id_hint.setObjectName("api_id_hint")
        self._api_id_hint.setText("The API ID is a number: digits only.")
        self._status = QLabel("Signing in…")
        self._status.setObjectName("status")
        self._status.setWordWrap(True)
        self._error = _error_label()
        self._error.setObjectName("error")

        self._buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self._sign_in = self._buttons.button(QDialogButtonBox.StandardButton.Ok)
        self._sign_in.setText("Sign in")
        self._sign_in.setDefault(True)
        self._buttons.accepted.connect(self._submit)
        self._buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow(*_with_message("&API ID:", self._api_id, self._api_id_hint))
        form.addRow("&Username:", self._user)
        form.addRow("&Password:", self._password)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self._error)
        layout.addWidget(self._status)
        storage = _note_label(storage_note)
        storage.setObjectName("storage_note")
        layout.addWidget(storage)
        if demo:
            from tray_app.core.demo import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER

            hint = _note_label(f"Demo account: {DEMO_API_ID} / {DEMO_USER} / {DEMO_PASSWORD}")
            hint.setObjectName("demo_hint")
            layout.addWidget(hint)
        layout.addWidget(self._buttons)
        self._status.hide()

        for edit in (self._api_id, self._user, self._password):
            edit.textChanged.connect(self._update_validity)
        self._update_validity()
        self._first_empty_field().setFocus()

    def show_error(self, text: str) -> None:
        """The attempt failed: say why, give the inputs back as typed, and ask for the password."""
        self._set_busy(False)
        self._error.setText(text)
        self._error.show()
        _fit_height(self)
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
        shown = _themed_icon(_CONCEAL_ICONS, _eye_icon(colour, crossed=True))
        hidden = _themed_icon(_REVEAL_ICONS, _eye_icon(colour, crossed=False))

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
        self._sign_in.setEnabled(id_ok and bool(credentials.user) and bool(credentials.password))
        _fit_height(self)

    def _submit(self) -> None:
        if not self._sign_in.isEnabled():
            return
        self._error.hide()
        self._set_busy(True)
        self.submitted.emit(self._credentials())

    def _set_busy(self, busy: bool) -> None:
        for widget in (self._api_id, self._user, self._password):
            widget.setEnabled(not busy)
        self._status.setVisible(busy)
        _fit_height(self)
        if busy:
            self._sign_in.setEnabled(False)
            self.setCursor(Qt.CursorShape.BusyCursor)
        else:
            self._update_validity()
            self.unsetCursor()

    def _first_empty_field(self) -> QLineEdit:
        for edit in (self._api_id, self._user):
            if not edit.text().strip():
                return edit
        return self._password


_FORM_FIELDS = (
    "base_url",
    "ping_interval_minutes",
    "notifications",
    "clipboard_clear_seconds",
    "start_at_login",
    "icon_theme",
)


class SettingsDialog(QDialog):
    """Edits the non-secret settings; OK writes them all or none, Cancel writes nothing."""

    applied = Signal()

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        _make_non_blocking(self, "Settings")
        self.setMinimumWidth(440)
        self._settings = settings

        self._base_url = QLineEdit()
        self._base_url.setObjectName("base_url")
        self._base_url.setAccessibleName("API base URL")
        self._base_url.setPlaceholderText("https://api.clickatell.com")
        self._base_url_error = _error_label()
        self._base_url_error.setObjectName("base_url_error")

        self._interval = QSpinBox()
        self._interval.setObjectName("ping_interval_minutes")
        self._interval.setAccessibleName("Ping interval in minutes")
        self._interval.setRange(1, 14)
        self._interval.setSuffix(" min")
        self._interval.setToolTip("The session expires after 15 minutes without a request.")

        self._notifications = QCheckBox("Show desktop notifications")
        self._notifications.setObjectName("notifications")
        self._notifications.setAccessibleName("Show desktop notifications")

        self._clipboard = QSpinBox()
        self._clipboard.setObjectName("clipboard_clear_seconds")
        self._clipboard.setAccessibleName("Clear the copied session ID after seconds")
        self._clipboard.setRange(0, 3600)
        self._clipboard.setSingleStep(5)
        self._clipboard.setSuffix(" s")
        self._clipboard.setSpecialValueText("Never")
        self._clipboard.setToolTip("Only if the clipboard still holds the session ID by then.")

        self._start_at_login = QCheckBox("Start when I log in")
        self._start_at_login.setObjectName("start_at_login")
        self._start_at_login.setAccessibleName("Start when I log in")

        self._icon_theme = QComboBox()
        self._icon_theme.setObjectName("icon_theme")
        self._icon_theme.setAccessibleName("Tray icon style")
        for label, value in _ICON_THEMES:
            self._icon_theme.addItem(label, value)
        self._icon_theme.setToolTip("Auto draws an outline that reads on any panel.")

        self._error = _error_label()
        self._error.setObjectName("error")

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        self._ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self._ok.setDefault(True)
        buttons.accepted.connect(self._apply)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(
            self.restore_defaults
        )

        form = QFormLayout()
        form.addRow(*_with_message("API &base URL:", self._base_url, self._base_url_error))
        form.addRow("&Ping every:", self._interval)
        form.addRow("&Clear copied ID after:", self._clipboard)
        form.addRow("&Tray icon:", self._icon_theme)
        form.addRow("", self._notifications)
        form.addRow("", self._start_at_login)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self._error)
        location = _note_label(f"Saved in {settings.file_name}")
        location.setObjectName("location")
        layout.addWidget(location)
        layout.addWidget(buttons)

        self._base_url.textChanged.connect(self._check_base_url)
        self.load()

    def load(self) -> None:
        """Show what is stored now, e.g. before showing a reused dialog again."""
        self._show({name: getattr(self._settings, name) for name in _FORM_FIELDS})

    def restore_defaults(self) -> None:
        """Put the defaults in the form; like any edit, they are written only on OK."""
        self._show(type(self._settings).defaults())

    def _show(self, values: dict[str, Any]) -> None:
        self._base_url.setText(values["base_url"])
        self._interval.setValue(values["ping_interval_minutes"])
        self._notifications.setChecked(values["notifications"])
        self._clipboard.setValue(values["clipboard_clear_seconds"])
        self._start_at_login.setChecked(values["start_at_login"])
        self._icon_theme.setCurrentIndex(max(0, self._icon_theme.findData(values["icon_theme"])))
        self._error.hide()
        self._check_base_url()

    def _check_base_url(self) -> bool:
        text = self._base_url.text()
        try:
            validate_base_url(text)
        except ValueError as exc:
            message = (
                _capitalised(str(exc))
                if text.strip()
                else "Enter the API's address, e.g. https://api.clickatell.com"
            )
            self._base_url_error.setText(message)
            self._base_url_error.show()
            self._base_url.setAccessibleDescription(message)
            self._ok.setEnabled(False)
            _fit_height(self)
            return False
        self._base_url_error.hide()
        self._base_url.setAccessibleDescription("")
        self._ok.setEnabled(True)
        _fit_height(self)
        return True

    def _values(self) -> dict[str, object]:
        return {
            "base_url": validate_base_url(self._base_url.text()),
            "ping_interval_minutes": self._interval.value(),
            "notifications": self._notifications.isChecked(),
            "clipboard_clear_seconds": self._clipboard.value(),
            "start_at_login": self._start_at_login.isChecked(),
            "icon_theme": self._icon_theme.currentData(),
        }

    def _apply(self) -> None:
        if not self._check_base_url():
            return
        try:
            self._settings.update(**self._values())
        except ValueError as exc:
            self._error.setText(str(exc))
            self._error.show()
            _fit_height(self)
            return
        self._error.hide()
        self.applied.emit()
        self.accept()
