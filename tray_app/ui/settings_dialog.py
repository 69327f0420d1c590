"""The settings dialog: edits the non-secret settings; OK writes them all or none.

A field can be *locked* with a reason shown under it: the base URL when ``--base-url`` or
``CLICKATELL_BASE_URL`` chose it for this run (the dialog shows that value, and OK does not
overwrite the stored one), and in the demo whatever would touch the real app. A locked field
is greyed out and never written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Signal
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

from tray_app.core.explain import capitalised
from tray_app.core.plan_terms import MAX_INTERVAL_MINUTES, MIN_INTERVAL_MINUTES
from tray_app.core.protocol import validate_base_url
from tray_app.services.settings import Settings
from tray_app.ui.forms import make_non_blocking, message_label, note_label, plain_buttons

_ICON_THEMES = (("Auto", "auto"), ("Light panel", "light"), ("Dark panel", "dark"))
FORM_FIELDS = (
    "base_url",
    "ping_interval_minutes",
    "notifications",
    "clipboard_clear_seconds",
    "start_at_login",
    "icon_theme",
    "local_proxy",
)


class SettingsDialog(QDialog):
    """Edits the non-secret settings; OK writes them all or none, Cancel writes nothing.

    ``locked`` maps a field name to the reason it cannot be changed here; ``shown`` gives
    the value to display for a locked field instead of the stored one.
    """

    applied = Signal()

    def __init__(
        self,
        settings: Settings,
        parent: QWidget | None = None,
        *,
        locked: Mapping[str, str] | None = None,
        shown: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(parent)
        make_non_blocking(self, "Settings")
        self.setMinimumWidth(440)
        self._settings = settings
        self._locked = dict(locked or {})
        self._shown = dict(shown or {})

        self._base_url = QLineEdit()
        self._base_url.setObjectName("base_url")
        self._base_url.setAccessibleName("API base URL")
        self._base_url.setPlaceholderText("https://api.clickatell.com")
        self._base_url_error = message_label(2)
        self._base_url_error.setObjectName("base_url_error")

        low, high = MIN_INTERVAL_MINUTES, MAX_INTERVAL_MINUTES
        self._interval = QSpinBox()
        self._interval.setObjectName("ping_interval_minutes")
        self._interval.setAccessibleName(f"Ping interval in minutes, {low} to {high}")
        self._interval.setRange(low, high)
        self._interval.setSuffix(" min")
        self._interval.setToolTip(
            f"{low} to {high} minutes: the session expires after 15 minutes without a request."
        )
        self._interval_hint = message_label(1)
        self._interval_hint.setObjectName("ping_interval_hint")
        self._interval_hint.setText(f"The ping interval is {low} to {high} minutes.")
        editor = self._interval.findChild(QLineEdit)
        assert editor is not None
        editor.inputRejected.connect(self._interval_hint.show)
        self._interval.valueChanged.connect(self._interval_hint.hide)

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
        self._clipboard.setToolTip(
            "0 to 3600 seconds; only if the clipboard still holds the session ID by then."
        )

        # The same words as the menu's "Start at login".
        self._start_at_login = QCheckBox("Start at login")
        self._start_at_login.setObjectName("start_at_login")
        self._start_at_login.setAccessibleName("Start at login")

        self._local_proxy = QCheckBox("Serve the API on this machine without the session ID")
        self._local_proxy.setObjectName("local_proxy")
        self._local_proxy.setAccessibleName("Run the local API proxy")
        self._local_proxy.setToolTip(
            "A local proxy for curl, Postman and scripts: it puts the live session ID into "
            "each call. Its address is under Copy as… in the menu."
        )

        self._icon_theme = QComboBox()
        self._icon_theme.setObjectName("icon_theme")
        self._icon_theme.setAccessibleName("Tray icon style")
        for label, value in _ICON_THEMES:
            self._icon_theme.addItem(label, value)
        self._icon_theme.setToolTip("Auto draws an outline that reads on any panel.")

        self._error = message_label(2)
        self._error.setObjectName("error")

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        self._ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        plain_buttons(buttons, self._ok)
        buttons.accepted.connect(self._apply)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(
            self.restore_defaults
        )

        form = QFormLayout()
        form.addRow(*self._row("API &base URL:", self._base_url, self._base_url_error))
        form.addRow(*self._row("&Ping every:", self._interval, self._interval_hint))
        form.addRow("&Clear copied ID after:", self._clipboard)
        form.addRow("&Tray icon:", self._icon_theme)
        form.addRow("", self._notifications)
        form.addRow(*self._row("", self._start_at_login))
        form.addRow(*self._row("", self._local_proxy))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self._error)
        layout.addWidget(buttons)

        self._base_url.textChanged.connect(self._check_base_url)
        self.load()

    def _row(self, text: str, field: QWidget, message: QLabel | None = None) -> tuple[Any, Any]:
        """A form row; a locked field says why under it."""
        column = QVBoxLayout()
        column.setSpacing(2)
        column.addWidget(field)
        if message is not None:
            column.addWidget(message)
        reason = self._locked.get(field.objectName())
        if reason:
            if message is not None:  # a locked value is never edited, so keep no room for it
                policy = message.sizePolicy()
                policy.setRetainSizeWhenHidden(False)
                message.setSizePolicy(policy)
            field.setEnabled(False)
            why = note_label(reason)
            why.setObjectName(f"{field.objectName()}_locked")
            column.addWidget(why)
        label = QLabel(text)
        label.setBuddy(field)
        return label, column

    def load(self) -> None:
        """Show what is stored now, e.g. before showing a reused dialog again."""
        values = {name: getattr(self._settings, name) for name in FORM_FIELDS}
        self._show({**values, **self._shown})

    def restore_defaults(self) -> None:
        """Put the defaults in the form; like any edit, they are written only on OK."""
        defaults = type(self._settings).defaults()
        current = self._values_shown()
        self._show({**defaults, **{name: current[name] for name in self._locked}})

    def _show(self, values: dict[str, Any]) -> None:
        self._base_url.setText(values["base_url"])
        self._interval.setValue(values["ping_interval_minutes"])
        self._notifications.setChecked(values["notifications"])
        self._clipboard.setValue(values["clipboard_clear_seconds"])
        self._start_at_login.setChecked(values["start_at_login"])
        self._local_proxy.setChecked(values["local_proxy"])
        self._icon_theme.setCurrentIndex(max(0, self._icon_theme.findData(values["icon_theme"])))
        self._error.hide()
        self._interval_hint.hide()
        self._check_base_url()

    def _check_base_url(self) -> bool:
        text = self._base_url.text()
        try:
            validate_base_url(text)
        except ValueError as exc:
            message = (
                capitalised(str(exc))
                if text.strip()
                else "Enter the API's address, e.g. https://api.clickatell.com"
            )
            self._base_url_error.setText(message)
            self._base_url_error.show()
            self._base_url.setAccessibleDescription(message)
            self._ok.setEnabled(False)
            return False
        self._base_url_error.hide()
        self._base_url.setAccessibleDescription("")
        self._ok.setEnabled(True)
        return True

    def _values_shown(self) -> dict[str, Any]:
        return {
            "base_url": self._base_url.text(),
            "ping_interval_minutes": self._interval.value(),
            "notifications": self._notifications.isChecked(),
            "clipboard_clear_seconds": self._clipboard.value(),
            "start_at_login": self._start_at_login.isChecked(),
            "local_proxy": self._local_proxy.isChecked(),
            "icon_theme": self._icon_theme.currentData(),
        }

    def _values(self) -> dict[str, object]:
        """What OK writes: every field but the locked ones."""
        values = self._values_shown()
        values["base_url"] = validate_base_url(values["base_url"])
        return {name: value for name, value in values.items() if name not in self._locked}

    def _apply(self) -> None:
        if not self._check_base_url():
            return
        try:
            self._settings.update(**self._values())
        except ValueError as exc:
            self._error.setText(str(exc))
            self._error.show()
            return
        self._error.hide()
        self.applied.emit()
        self.accept()
