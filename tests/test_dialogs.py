"""The sign-in and settings dialogs, driven as a user would: typing, clicking, Enter and Esc."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import TypeVar

import pytest
from PySide6.QtCore import QObject, QSettings, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)
from pytestqt.qtbot import QtBot

from tray_app.services.credentials import Credentials
from tray_app.services.settings import DEFAULT_BASE_URL, Settings
from tray_app.ui.dialogs import SettingsDialog, SignInDialog

W = TypeVar("W", bound=QObject)

KEYRING_NOTE = "Stored in the system keyring."


def child(parent: QObject, kind: type[W], name: str) -> W:
    found = parent.findChild(kind, name)
    assert found is not None, f"no {kind.__name__} named {name!r}"
    return found


def button(dialog: QDialog, which: QDialogButtonBox.StandardButton) -> QPushButton:
    box = dialog.findChild(QDialogButtonBox)
    assert box is not None
    return box.button(which)


def sign_in_dialog(qtbot: QtBot, **kwargs: object) -> SignInDialog:
    kwargs.setdefault("storage_note", KEYRING_NOTE)
    dialog = SignInDialog(**kwargs)  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def fill(dialog: SignInDialog, api_id: str, user: str, password: str) -> None:
    child(dialog, QLineEdit, "api_id").setText(api_id)
    child(dialog, QLineEdit, "user").setText(user)
    child(dialog, QLineEdit, "password").setText(password)


def sign_in_button(dialog: SignInDialog) -> QPushButton:
    return button(dialog, QDialogButtonBox.StandardButton.Ok)


def inputs(dialog: SignInDialog) -> list[QLineEdit]:
    return [child(dialog, QLineEdit, name) for name in ("api_id", "user", "password")]


# The sign-in dialog.


def test_sign_in_is_disabled_until_all_three_fields_are_filled(qtbot: QtBot) -> None:
    dialog = sign_in_dialog(qtbot)
    assert not sign_in_button(dialog).isEnabled()
    fill(dialog, "3456789", "alice", "")
    assert not sign_in_button(dialog).isEnabled()
    fill(dialog, "3456789", "   ", "secret")
    assert not sign_in_button(dialog).isEnabled()
    fill(dialog, "3456789", "alice", "secret")
    assert sign_in_button(dialog).isEnabled()


@pytest.mark.parametrize("api_id", ["34a6789", "3456-789", "\u0663\u0664\u0665"])
def test_an_api_id_that_is_not_all_digits_shows_the_hint_and_stays_disabled(
    qtbot: QtBot, api_id: str
) -> None:
    dialog = sign_in_dialog(qtbot)
    hint = child(dialog, QLabel, "api_id_hint")
    assert not hint.isVisible()
    fill(dialog, api_id, "alice", "secret")
    assert hint.isVisible()
    assert "digits only" in hint.text()
    assert not sign_in_button(dialog).isEnabled()
    child(dialog, QLineEdit, "api_id").setText("3456789")
    assert not hint.isVisible()
    assert sign_in_button(dialog).isEnabled()


def test_submit_strips_id_and_user_but_keeps_the_password_exactly(qtbot: QtBot) -> None:
    dialog = sign_in_dialog(qtbot)
    fill(dialog, "  3456789 ", " alice  ", "  pass word ")
    with qtbot.waitSignal(dialog.submitted) as blocker:
        qtbot.mouseClick(sign_in_button(dialog), Qt.MouseButton.LeftButton)
    assert blocker.args == [Credentials("3456789", "alice", "  pass word ")]
    assert blocker.args[0].password == "  pass word "


def test_enter_submits_when_valid_and_does_nothing_when_not(qtbot: QtBot) -> None:
    dialog = sign_in_dialog(qtbot)
    password = child(dialog, QLineEdit, "password")
    fill(dialog, "3456789", "alice", "")
    with qtbot.assertNotEmitted(dialog.submitted):
        qtbot.keyClick(password, Qt.Key.Key_Return)
    assert dialog.isVisible()
    password.setText("secret")
    with qtbot.waitSignal(dialog.submitted):
        qtbot.keyClick(password, Qt.Key.Key_Return)


def test_submitting_keeps_the_dialog_open_and_busy_with_inputs_read_only(qtbot: QtBot) -> None:
    dialog = sign_in_dialog(qtbot)
    fill(dialog, "3456789", "alice", "secret")
    with qtbot.waitSignal(dialog.submitted):
        sign_in_button(dialog).click()
    assert dialog.isVisible()
    assert all(edit.isReadOnly() for edit in inputs(dialog))
    assert not sign_in_button(dialog).isEnabled()
    status = child(dialog, QLabel, "status")
    assert status.isVisible()
    assert status.text() == "Signing in…"
    assert button(dialog, QDialogButtonBox.StandardButton.Cancel).isEnabled()


def test_show_error_displays_the_text_and_gives_the_inputs_back(qtbot: QtBot) -> None:
    dialog = sign_in_dialog(qtbot)
    fill(dialog, "3456789", "alice", "wrong")
    sign_in_button(dialog).click()
    dialog.show_error("ERR 001: Authentication failed")
    error = child(dialog, QLabel, "error")
    assert error.isVisible()
    assert error.text() == "ERR 001: Authentication failed"
    assert not child(dialog, QLabel, "status").isVisible()
    assert all(edit.isEnabled() and not edit.isReadOnly() for edit in inputs(dialog))
    assert [edit.text() for edit in inputs(dialog)] == ["3456789", "alice", "wrong"]
    assert sign_in_button(dialog).isEnabled()
    password = child(dialog, QLineEdit, "password")
    assert dialog.focusWidget() is password
    assert password.selectedText() == "wrong"
    assert dialog.isVisible()


def test_an_error_quoting_html_is_shown_as_plain_text(qtbot: QtBot, tmp_path: Path) -> None:
    """A server's error page must not render, nor load a local file through ``<img>``."""
    dialog = sign_in_dialog(qtbot)
    text = f'ERR 114: <img src="{tmp_path / "secret.png"}"><b>Bold</b>'
    dialog.show_error(text)
    error = child(dialog, QLabel, "error")
    assert error.textFormat() is Qt.TextFormat.PlainText
    assert error.text() == text


def test_a_new_attempt_after_an_error_hides_the_old_error(qtbot: QtBot) -> None:
    dialog = sign_in_dialog(qtbot)
    fill(dialog, "3456789", "alice", "wrong")
    sign_in_button(dialog).click()
    dialog.show_error("ERR 001: Authentication failed")
    child(dialog, QLineEdit, "password").setText("right")
    with qtbot.waitSignal(dialog.submitted) as blocker:
        sign_in_button(dialog).click()
    assert blocker.args == [Credentials("3456789", "alice", "right")]
    assert not child(dialog, QLabel, "error").isVisible()


def test_succeeded_closes_the_dialog_as_accepted(qtbot: QtBot) -> None:
    dialog = sign_in_dialog(qtbot)
    fill(dialog, "3456789", "alice", "secret")
    sign_in_button(dialog).click()
    with qtbot.waitSignal(dialog.accepted):
        dialog.succeeded()
    assert not dialog.isVisible()
    assert dialog.result() == QDialog.DialogCode.Accepted


@pytest.mark.parametrize("how", ["button", "escape"])
def test_cancel_closes_without_submitting(qtbot: QtBot, how: str) -> None:
    dialog = sign_in_dialog(qtbot)
    fill(dialog, "3456789", "alice", "secret")
    with qtbot.assertNotEmitted(dialog.submitted), qtbot.waitSignal(dialog.rejected):
        if how == "button":
            button(dialog, QDialogButtonBox.StandardButton.Cancel).click()
        else:
            qtbot.keyClick(child(dialog, QLineEdit, "password"), Qt.Key.Key_Escape)
    assert not dialog.isVisible()


def test_known_id_and_user_are_prefilled_and_the_password_gets_the_focus(qtbot: QtBot) -> None:
    dialog = sign_in_dialog(qtbot, api_id="3456789", user="alice")
    assert child(dialog, QLineEdit, "api_id").text() == "3456789"
    assert child(dialog, QLineEdit, "user").text() == "alice"
    assert child(dialog, QLineEdit, "password").text() == ""
    assert dialog.focusWidget() is child(dialog, QLineEdit, "password")


def test_an_empty_dialog_starts_at_the_api_id(qtbot: QtBot) -> None:
    dialog = sign_in_dialog(qtbot)
    assert dialog.focusWidget() is child(dialog, QLineEdit, "api_id")


def test_the_password_is_hidden_until_the_eye_is_toggled(qtbot: QtBot) -> None:
    dialog = sign_in_dialog(qtbot)
    password = child(dialog, QLineEdit, "password")
    reveal = next(a for a in password.actions() if a.objectName() == "reveal_password")
    assert password.echoMode() == QLineEdit.EchoMode.Password
    assert reveal.toolTip() == "Show password"
    reveal.trigger()
    assert password.echoMode() == QLineEdit.EchoMode.Normal
    assert reveal.toolTip() == "Hide password"
    reveal.trigger()
    assert password.echoMode() == QLineEdit.EchoMode.Password


def test_the_storage_note_is_shown(qtbot: QtBot) -> None:
    problem = "No system keyring is available; your credentials are kept for this run only."
    dialog = sign_in_dialog(qtbot, storage_note=problem)
    note = child(dialog, QLabel, "storage_note")
    assert note.isVisible()
    assert note.text() == problem


def test_demo_mode_shows_the_demo_account_and_normal_mode_does_not(qtbot: QtBot) -> None:
    demo = sign_in_dialog(qtbot, demo=True)
    hint = child(demo, QLabel, "demo_hint")
    assert hint.isVisible()
    assert hint.text() == "Demo account: 1000001 / demo / demo"
    assert sign_in_dialog(qtbot).findChild(QLabel, "demo_hint") is None


def test_sign_in_dialog_title_names_and_modality(qtbot: QtBot) -> None:
    dialog = sign_in_dialog(qtbot)
    assert dialog.windowTitle() == "Sign in — Clickatell Session Tray"
    assert not dialog.isModal()
    assert dialog.windowModality() == Qt.WindowModality.NonModal
    assert [edit.accessibleName() for edit in inputs(dialog)] == ["API ID", "Username", "Password"]


def test_tab_moves_through_the_sign_in_fields_in_order(qtbot: QtBot) -> None:
    dialog = sign_in_dialog(qtbot)
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    api_id, user, password = inputs(dialog)
    api_id.setFocus()
    qtbot.keyClick(api_id, Qt.Key.Key_Tab)
    assert dialog.focusWidget() is user
    qtbot.keyClick(user, Qt.Key.Key_Tab)
    assert dialog.focusWidget() is password


# The settings dialog.


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    return tmp_path / "settings.ini"


INI = QSettings.Format.IniFormat


def settings_at(path: Path) -> Settings:
    return Settings(QSettings(str(path), INI))


def settings_dialog(qtbot: QtBot, settings: Settings) -> SettingsDialog:
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def ok_button(dialog: SettingsDialog) -> QPushButton:
    return button(dialog, QDialogButtonBox.StandardButton.Ok)


def test_settings_dialog_shows_the_stored_values(qtbot: QtBot, settings_path: Path) -> None:
    settings = settings_at(settings_path)
    settings.base_url = "http://127.0.0.1:8080"
    settings.ping_interval_minutes = 4
    settings.notifications = False
    settings.clipboard_clear_seconds = 45
    settings.start_at_login = True
    settings.icon_theme = "dark"
    dialog = settings_dialog(qtbot, settings)
    assert child(dialog, QLineEdit, "base_url").text() == "http://127.0.0.1:8080"
    assert child(dialog, QSpinBox, "ping_interval_minutes").value() == 4
    assert not child(dialog, QCheckBox, "notifications").isChecked()
    assert child(dialog, QSpinBox, "clipboard_clear_seconds").value() == 45
    assert child(dialog, QCheckBox, "start_at_login").isChecked()
    assert child(dialog, QComboBox, "icon_theme").currentText() == "Dark panel"
    assert ok_button(dialog).isEnabled()


def test_settings_dialog_offers_only_what_settings_accept(
    qtbot: QtBot, settings_path: Path
) -> None:
    dialog = settings_dialog(qtbot, settings_at(settings_path))
    interval = child(dialog, QSpinBox, "ping_interval_minutes")
    assert (interval.minimum(), interval.maximum()) == (1, 14)
    clipboard = child(dialog, QSpinBox, "clipboard_clear_seconds")
    assert (clipboard.minimum(), clipboard.maximum()) == (0, 3600)
    clipboard.setValue(0)
    assert clipboard.text() == "Never"
    themes = child(dialog, QComboBox, "icon_theme")
    assert [(themes.itemText(i), themes.itemData(i)) for i in range(themes.count())] == [
        ("Auto", "auto"),
        ("Light panel", "light"),
        ("Dark panel", "dark"),
    ]


def test_ok_writes_every_value_and_announces_it(qtbot: QtBot, settings_path: Path) -> None:
    dialog = settings_dialog(qtbot, settings_at(settings_path))
    child(dialog, QLineEdit, "base_url").setText("  https://sim.example.org/api/  ")
    child(dialog, QSpinBox, "ping_interval_minutes").setValue(14)
    child(dialog, QCheckBox, "notifications").setChecked(False)
    child(dialog, QSpinBox, "clipboard_clear_seconds").setValue(3600)
    child(dialog, QCheckBox, "start_at_login").setChecked(True)
    child(dialog, QComboBox, "icon_theme").setCurrentIndex(1)
    with qtbot.waitSignal(dialog.applied):
        qtbot.mouseClick(ok_button(dialog), Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    again = settings_at(settings_path)
    assert again.base_url == "https://sim.example.org/api"
    assert again.ping_interval_minutes == 14
    assert again.notifications is False
    assert again.clipboard_clear_seconds == 3600
    assert again.start_at_login is True
    assert again.icon_theme == "light"


def test_enter_applies_and_escape_cancels(qtbot: QtBot, settings_path: Path) -> None:
    dialog = settings_dialog(qtbot, settings_at(settings_path))
    child(dialog, QSpinBox, "ping_interval_minutes").setValue(3)
    with qtbot.waitSignal(dialog.applied):
        qtbot.keyClick(child(dialog, QLineEdit, "base_url"), Qt.Key.Key_Return)
    assert settings_at(settings_path).ping_interval_minutes == 3

    dialog = settings_dialog(qtbot, settings_at(settings_path))
    child(dialog, QSpinBox, "ping_interval_minutes").setValue(7)
    with qtbot.assertNotEmitted(dialog.applied), qtbot.waitSignal(dialog.rejected):
        qtbot.keyClick(child(dialog, QLineEdit, "base_url"), Qt.Key.Key_Escape)
    assert settings_at(settings_path).ping_interval_minutes == 3


def test_a_plain_http_url_shows_an_error_and_disables_ok(qtbot: QtBot, settings_path: Path) -> None:
    dialog = settings_dialog(qtbot, settings_at(settings_path))
    url = child(dialog, QLineEdit, "base_url")
    error = child(dialog, QLabel, "base_url_error")
    assert not error.isVisible()
    url.setText("http://example.com")
    assert error.isVisible()
    assert "https://" in error.text()
    assert not ok_button(dialog).isEnabled()
    with qtbot.assertNotEmitted(dialog.applied):
        qtbot.keyClick(url, Qt.Key.Key_Return)
    assert dialog.isVisible()
    assert not settings_path.exists()
    url.setText("https://example.com")
    assert not error.isVisible()
    assert ok_button(dialog).isEnabled()


def test_an_empty_url_asks_for_one(qtbot: QtBot, settings_path: Path) -> None:
    dialog = settings_dialog(qtbot, settings_at(settings_path))
    child(dialog, QLineEdit, "base_url").clear()
    assert child(dialog, QLabel, "base_url_error").text().startswith("Enter the API's address")
    assert not ok_button(dialog).isEnabled()


def test_a_url_with_a_password_is_refused_before_anything_is_written(
    qtbot: QtBot, settings_path: Path
) -> None:
    dialog = settings_dialog(qtbot, settings_at(settings_path))
    child(dialog, QSpinBox, "ping_interval_minutes").setValue(2)
    child(dialog, QLineEdit, "base_url").setText("https://me:pw@api.example.com")
    error = child(dialog, QLabel, "base_url_error")
    assert error.isVisible()
    assert "user name or password" in error.text()
    assert "pw" not in error.text()
    assert not ok_button(dialog).isEnabled()
    assert not settings_path.exists()
    assert settings_at(settings_path).ping_interval_minutes == 10


class RefusesDarkPanels(Settings):
    """Stands for any rule the settings may hold that the form cannot know about."""

    def update(self, **values: object) -> None:
        if values.get("icon_theme") == "dark":
            raise ValueError("icon_theme: dark panels are refused here")
        super().update(**values)


def test_a_refusal_of_a_later_field_writes_none_of_the_earlier_ones(
    qtbot: QtBot, settings_path: Path
) -> None:
    dialog = settings_dialog(qtbot, RefusesDarkPanels(QSettings(str(settings_path), INI)))
    child(dialog, QLineEdit, "base_url").setText("https://other.example.com")
    child(dialog, QSpinBox, "ping_interval_minutes").setValue(2)
    child(dialog, QComboBox, "icon_theme").setCurrentIndex(2)
    with qtbot.assertNotEmitted(dialog.applied):
        ok_button(dialog).click()
    assert dialog.isVisible()
    error = child(dialog, QLabel, "error")
    assert error.isVisible()
    assert error.text() == "icon_theme: dark panels are refused here"
    assert not settings_path.exists()


def test_cancel_writes_nothing(qtbot: QtBot, settings_path: Path) -> None:
    settings = settings_at(settings_path)
    settings.ping_interval_minutes = 5
    before = settings_path.read_bytes()
    dialog = settings_dialog(qtbot, settings)
    child(dialog, QLineEdit, "base_url").setText("https://other.example.com")
    child(dialog, QSpinBox, "ping_interval_minutes").setValue(12)
    child(dialog, QCheckBox, "start_at_login").setChecked(True)
    with qtbot.assertNotEmitted(dialog.applied), qtbot.waitSignal(dialog.rejected):
        button(dialog, QDialogButtonBox.StandardButton.Cancel).click()
    assert settings_path.read_bytes() == before
    again = settings_at(settings_path)
    assert (again.base_url, again.ping_interval_minutes, again.start_at_login) == (
        DEFAULT_BASE_URL,
        5,
        False,
    )


def test_restore_defaults_fills_the_form_and_ok_writes_them(
    qtbot: QtBot, settings_path: Path
) -> None:
    settings = settings_at(settings_path)
    settings.base_url = "http://localhost:9000"
    settings.ping_interval_minutes = 2
    settings.notifications = False
    settings.clipboard_clear_seconds = 30
    settings.start_at_login = True
    settings.icon_theme = "light"
    before = settings_path.read_bytes()
    dialog = settings_dialog(qtbot, settings)
    button(dialog, QDialogButtonBox.StandardButton.RestoreDefaults).click()
    assert child(dialog, QLineEdit, "base_url").text() == DEFAULT_BASE_URL
    assert child(dialog, QSpinBox, "ping_interval_minutes").value() == 10
    assert child(dialog, QCheckBox, "notifications").isChecked()
    assert child(dialog, QSpinBox, "clipboard_clear_seconds").value() == 0
    assert not child(dialog, QCheckBox, "start_at_login").isChecked()
    assert child(dialog, QComboBox, "icon_theme").currentData() == "auto"
    assert settings_path.read_bytes() == before
    ok_button(dialog).click()
    again = settings_at(settings_path)
    assert (
        again.base_url,
        again.ping_interval_minutes,
        again.notifications,
        again.clipboard_clear_seconds,
        again.start_at_login,
        again.icon_theme,
    ) == (DEFAULT_BASE_URL, 10, True, 0, False, "auto")


def test_settings_dialog_title_names_and_modality(qtbot: QtBot, settings_path: Path) -> None:
    dialog = settings_dialog(qtbot, settings_at(settings_path))
    assert dialog.windowTitle() == "Settings — Clickatell Session Tray"
    assert not dialog.isModal()
    assert dialog.windowModality() == Qt.WindowModality.NonModal
    names = [
        child(dialog, kind, name).accessibleName()
        for kind, name in (
            (QLineEdit, "base_url"),
            (QSpinBox, "ping_interval_minutes"),
            (QSpinBox, "clipboard_clear_seconds"),
            (QComboBox, "icon_theme"),
            (QCheckBox, "notifications"),
            (QCheckBox, "start_at_login"),
        )
    ]
    assert all(names), names


def test_tab_moves_through_the_settings_in_order(qtbot: QtBot, settings_path: Path) -> None:
    dialog = settings_dialog(qtbot, settings_at(settings_path))
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    order: list[QWidget] = [
        child(dialog, QLineEdit, "base_url"),
        child(dialog, QSpinBox, "ping_interval_minutes"),
        child(dialog, QSpinBox, "clipboard_clear_seconds"),
        child(dialog, QComboBox, "icon_theme"),
        child(dialog, QCheckBox, "notifications"),
        child(dialog, QCheckBox, "start_at_login"),
    ]
    order[0].setFocus()
    for current, following in pairwise(order):
        qtbot.keyClick(current, Qt.Key.Key_Tab)
        assert dialog.focusWidget() is following
