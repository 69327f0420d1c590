"""The dialogs as a keyboard user meets them: Enter, focus, size, plain words, ranges."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QApplication,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QProxyStyle,
    QPushButton,
    QSpinBox,
    QStyle,
    QStyleHintReturn,
    QStyleOption,
    QWidget,
)
from pytestqt.qtbot import QtBot

from tray_app.core.explain import describe
from tray_app.core.protocol import ApiError, Command, ErrorCategory
from tray_app.services.credentials import Credentials
from tray_app.services.settings import Settings
from tray_app.ui.dialogs import SettingsDialog, SignInDialog


def focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None, "nothing has the keyboard focus"
    return widget


def type_text(qtbot: QtBot, text: str) -> None:
    """Type into whatever has the focus, as a person at the keyboard does."""
    qtbot.keyClicks(focused(), text)


def press(qtbot: QtBot, key: Qt.Key) -> None:
    qtbot.keyClick(focused(), key)


def settings_in(folder: Path) -> Settings:
    return Settings(QSettings(str(folder / "s.ini"), QSettings.Format.IniFormat))


def shown_sign_in(qtbot: QtBot, **kwargs: object) -> SignInDialog:
    dialog = SignInDialog(storage_note="Stored in the system keyring.", **kwargs)  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    return dialog


def test_enter_after_a_failed_attempt_tries_again_instead_of_cancelling(qtbot: QtBot) -> None:
    dialog = shown_sign_in(qtbot)
    attempts: list[Credentials] = []
    dialog.submitted.connect(attempts.append)
    type_text(qtbot, "1000001")
    press(qtbot, Qt.Key.Key_Tab)
    type_text(qtbot, "demo")
    press(qtbot, Qt.Key.Key_Tab)
    type_text(qtbot, "wrong")
    press(qtbot, Qt.Key.Key_Return)
    assert [c.password for c in attempts] == ["wrong"]
    dialog.show_error("The API ID, username or password is wrong (ERR 001)")
    assert focused() is dialog.findChild(QLineEdit, "password")
    type_text(qtbot, "demo")
    press(qtbot, Qt.Key.Key_Return)
    assert dialog.isVisible(), "Enter closed the dialog"
    assert [c.password for c in attempts] == ["wrong", "demo"]


def test_enter_after_an_invalid_api_id_was_fixed_signs_in(qtbot: QtBot) -> None:
    dialog = shown_sign_in(qtbot, user="demo")
    attempts: list[Credentials] = []
    dialog.submitted.connect(attempts.append)
    api_id = dialog.findChild(QLineEdit, "api_id")
    api_id.setFocus()
    type_text(qtbot, "12x")
    press(qtbot, Qt.Key.Key_Return)
    assert attempts == [] and dialog.isVisible()
    press(qtbot, Qt.Key.Key_Backspace)
    press(qtbot, Qt.Key.Key_Tab)
    press(qtbot, Qt.Key.Key_Tab)
    type_text(qtbot, "demo")
    press(qtbot, Qt.Key.Key_Return)
    assert [c.api_id for c in attempts] == ["12"]
    dialog.show_error("The API ID is wrong or unknown (ERR 108)")
    api_id.setFocus()
    api_id.selectAll()
    type_text(qtbot, "1000001")
    press(qtbot, Qt.Key.Key_Return)
    assert dialog.isVisible()
    assert [c.api_id for c in attempts] == ["12", "1000001"]


def test_focus_stays_in_the_form_while_an_attempt_runs(qtbot: QtBot) -> None:
    dialog = shown_sign_in(qtbot, api_id="1000001", user="demo")
    type_text(qtbot, "demo")
    press(qtbot, Qt.Key.Key_Return)
    assert focused() is dialog.findChild(QLineEdit, "password")
    cancel = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Cancel)
    assert not cancel.isDefault()


def test_the_error_goes_away_when_the_user_edits_the_fields(qtbot: QtBot) -> None:
    dialog = shown_sign_in(qtbot, api_id="1000001", user="demo")
    type_text(qtbot, "wrong")
    press(qtbot, Qt.Key.Key_Return)
    dialog.show_error("The API ID, username or password is wrong (ERR 001)")
    error = dialog.findChild(QLabel, "error")
    assert error.isVisible()
    type_text(qtbot, "d")
    assert not error.isVisible()


def test_the_dialog_keeps_its_size_as_messages_come_and_go(qtbot: QtBot) -> None:
    dialog = shown_sign_in(qtbot, user="demo")
    size = dialog.size()
    type_text(qtbot, "12x")
    assert dialog.findChild(QLabel, "api_id_hint").isVisible()
    assert dialog.size() == size
    press(qtbot, Qt.Key.Key_Backspace)
    press(qtbot, Qt.Key.Key_Tab)
    press(qtbot, Qt.Key.Key_Tab)
    type_text(qtbot, "pw")
    press(qtbot, Qt.Key.Key_Return)
    assert dialog.size() == size
    dialog.show_error(describe(ApiError(ErrorCategory.CREDENTIALS_REJECTED, "x", Command.AUTH, 1)))
    assert dialog.size() == size


def test_server_text_is_shown_as_plain_text_not_markup(qtbot: QtBot) -> None:
    dialog = shown_sign_in(qtbot)
    dialog.show_error("<b>bold</b> <a href='x'>link</a>")
    error = dialog.findChild(QLabel, "error")
    assert error.textFormat() == Qt.TextFormat.PlainText


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (1, "API ID, username or password is wrong"),
        (2, "API ID, username or password is wrong"),
        (4, "account is frozen"),
        (7, "IP address"),
        (108, "API ID is wrong"),
    ],
)
def test_rejections_are_explained_in_plain_words_with_the_code_kept(code: int, words: str) -> None:
    text = describe(ApiError(ErrorCategory.CREDENTIALS_REJECTED, "Auth failed", Command.AUTH, code))
    assert words in text
    assert f"ERR {code:03d}" in text
    assert "Auth failed" not in text


def test_a_transient_failure_keeps_its_reason() -> None:
    error = ApiError(ErrorCategory.TRANSIENT, "the server sent a web page (HTTP 503)", Command.PING)
    assert describe(error) == "The server sent a web page (HTTP 503)"


class IconsOnButtons(QProxyStyle):
    """Desktops whose style puts stock icons on dialog buttons (GNOME's, KDE's)."""

    def styleHint(
        self,
        hint: QStyle.StyleHint,
        option: QStyleOption | None = None,
        widget: QWidget | None = None,
        returned: QStyleHintReturn | None = None,
    ) -> int:
        if hint == QStyle.StyleHint.SH_DialogButtonBox_ButtonsHaveIcons:
            return 1
        return super().styleHint(hint, option, widget, returned)


@pytest.fixture
def icon_style(qapp: QApplication) -> Iterator[None]:
    before = qapp.style().name()
    qapp.setStyle(IconsOnButtons("fusion"))
    yield
    qapp.setStyle(before)


def test_buttons_carry_no_stock_icons(qtbot: QtBot, icon_style: None, tmp_path: Path) -> None:
    sign_in = shown_sign_in(qtbot)
    settings = SettingsDialog(settings_in(tmp_path))
    qtbot.addWidget(settings)
    for dialog in (sign_in, settings):
        buttons = dialog.findChildren(QPushButton)
        assert buttons
        assert all(b.icon().isNull() for b in buttons), [b.text() for b in buttons]


def settings_dialog(qtbot: QtBot, tmp_path: Path) -> SettingsDialog:
    dialog = SettingsDialog(settings_in(tmp_path))
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    return dialog


def test_the_interval_box_says_its_range_when_a_typed_value_is_refused(
    qtbot: QtBot, tmp_path: Path
) -> None:
    dialog = settings_dialog(qtbot, tmp_path)
    spin = dialog.findChild(QSpinBox, "ping_interval_minutes")
    hint = dialog.findChild(QLabel, "ping_interval_hint")
    assert hint is not None and not hint.isVisible()
    spin.setFocus()
    spin.selectAll()
    type_text(qtbot, "99")
    assert spin.value() == 9
    assert hint.isVisible()
    assert "1 to 14" in hint.text()


def test_settings_keep_their_size_and_show_no_file_paths(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = settings_dialog(qtbot, tmp_path)
    size = dialog.size()
    url = dialog.findChild(QLineEdit, "base_url")
    url.setFocus()
    url.selectAll()
    type_text(qtbot, "http://example.com")
    assert dialog.findChild(QLabel, "base_url_error").isVisible()
    assert dialog.size() == size
    texts = " ".join(label.text() for label in dialog.findChildren(QLabel))
    assert "Saved in" not in texts
    assert ".conf" not in texts and ".ini" not in texts
