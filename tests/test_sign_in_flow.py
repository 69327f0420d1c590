"""The demo app's sign-in dialog, typed into with real key presses against the real simulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit
from pytestqt.qtbot import QtBot

from tray_app import app as tray_app_module
from tray_app.app import Services
from tray_app.core.state import State
from tray_app.services.credentials import Credentials
from tray_app.ui.dialogs import SignInDialog


class Notifications:
    """The notification boundary: what would reach the desktop's notification service."""

    def __init__(self) -> None:
        self.shown: list[tuple[str, str]] = []

    def __call__(self, title: str, body: str, *_args: object) -> None:
        self.shown.append((title, body))


@pytest.fixture
def notifications() -> Notifications:
    return Notifications()


@pytest.fixture
def services(
    qapp: QApplication,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    notifications: Notifications,
) -> Iterator[Services]:
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    # No session bus: every notification takes the fallback route, which the test records.
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    built = tray_app_module._build(qapp, demo=True, base_url=None, verbose=False)
    built.notifier.set_fallback(notifications)
    yield built
    for widget in QApplication.topLevelWidgets():
        widget.close()
    tray_app_module._tear_down(built)


def focused() -> object:
    return QApplication.focusWidget()


def test_wrong_then_right_password_by_keyboard_signs_in_without_a_notification(
    services: Services, qtbot: QtBot, notifications: Notifications
) -> None:
    services.view.sign_in_requested.emit()
    dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, SignInDialog))
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    password = dialog.findChild(QLineEdit, "password")
    # The demo's stored credentials fill the form (read off the GUI thread); the password
    # field then has the focus with its text selected, so typing replaces it.
    qtbot.waitUntil(lambda: bool(password.text()), timeout=5000)
    assert [dialog.findChild(QLineEdit, n).text() for n in ("api_id", "user")] == [
        "1000001",
        "demo",
    ]
    assert focused() is password and password.selectedText() == password.text()
    qtbot.keyClicks(focused(), "wrong")
    qtbot.keyClick(focused(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: services.keeper.snapshot.state is State.FAILED, timeout=5000)
    error = dialog.findChild(QLabel, "error")
    qtbot.waitUntil(error.isVisible, timeout=2000)
    assert "username or password is wrong" in error.text()
    assert focused() is dialog.findChild(QLineEdit, "password")
    qtbot.keyClicks(focused(), "demo")
    assert not error.isVisible()
    qtbot.keyClick(focused(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog) or not dialog.isVisible(), timeout=5000)
    assert services.keeper.snapshot.state is State.ACTIVE
    qapp = QApplication.instance()
    assert qapp is not None
    qapp.processEvents()
    assert notifications.shown == []

    # With no dialog open the same rejection is news, so the boundary above could see one.
    services.keeper.sign_in(Credentials("1000001", "demo", "wrong"))
    qtbot.waitUntil(lambda: bool(notifications.shown), timeout=5000)
    assert notifications.shown[0][0] == "Credentials rejected"


def test_the_menu_opens_recent_events_with_this_runs_sign_in(
    services: Services, qtbot: QtBot
) -> None:
    from tray_app.ui.events_window import EventsWindow

    services.keeper.start()
    qtbot.waitUntil(lambda: services.keeper.snapshot.state is State.ACTIVE, timeout=5000)
    services.view.events_action.trigger()
    window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, EventsWindow))
    assert window.isVisible()
    qtbot.waitUntil(lambda: any("Signed in" in line for line in window.lines()), timeout=5000)


def test_without_a_tray_the_status_window_opens_recent_events_and_settings(
    services: Services, qtbot: QtBot
) -> None:
    from tray_app.ui.dialogs import SettingsDialog
    from tray_app.ui.events_window import EventsWindow

    window = services.windows.status_window()
    window.show()
    window.buttons["Recent events…"].click()
    window.buttons["Settings…"].click()
    shown = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
    assert any(isinstance(w, EventsWindow) for w in shown)
    assert any(isinstance(w, SettingsDialog) for w in shown)
