"""The tray as a newcomer reads it: tooltip, paused countdown, account, reasons, sign-out."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QClipboard, QGuiApplication
from PySide6.QtWidgets import QApplication, QCheckBox, QLineEdit, QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from tray_app.core.clock import FakeClock
from tray_app.core.state import State
from tray_app.qt.keeper import Keeper, SyncRunner
from tray_app.services.credentials import Credentials, CredentialStore
from tray_app.services.http_client import ApiClient
from tray_app.services.settings import Settings
from tray_app.sim.server import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER, Simulator
from tray_app.ui.actions import UserActions
from tray_app.ui.clipboard import SecretClipboard
from tray_app.ui.dialogs import SettingsDialog, SignInDialog
from tray_app.ui.notify import Notifier
from tray_app.ui.tray import TrayView

DEMO = Credentials(DEMO_API_ID, DEMO_USER, DEMO_PASSWORD)
SECONDS = re.compile(r"\d\d:\d\d")


@pytest.fixture
def store() -> CredentialStore:
    return CredentialStore(memory_only=True)


@pytest.fixture
def keeper(qapp: object, simulator: Simulator, clock: FakeClock, store: CredentialStore) -> Keeper:
    return Keeper(store, base_url=simulator.base_url, clock=clock, runner=SyncRunner())


@pytest.fixture
def clipboard(qapp: object) -> SecretClipboard:
    return SecretClipboard()


@pytest.fixture
def view(keeper: Keeper, clock: FakeClock, clipboard: SecretClipboard) -> Iterator[TrayView]:
    tray = TrayView(keeper, Notifier(lambda *_: None, platform="test"), clipboard, clock=clock.wall)
    tray.show()
    yield tray
    tray.tray.hide()
    for widget in QApplication.topLevelWidgets():
        widget.close()


def actions_for(
    view: TrayView, keeper: Keeper, store: CredentialStore, tmp_path: Path
) -> UserActions:
    settings = Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    actions = UserActions(
        view=view,
        keeper=keeper,
        settings=settings,
        store=store,
        notifier=Notifier(lambda *_: None, platform="test"),
        clipboard=SecretClipboard(),
        quit_app=lambda: None,
        demo=False,
        log_dir=tmp_path / "logs",
    )
    actions.setParent(view)
    return actions


def test_the_tooltip_is_never_stale(view: TrayView, keeper: Keeper, clock: FakeClock) -> None:
    """Read 54 s after the last redraw, it must still be true: whole minutes, like the icon."""
    keeper.sign_in(DEMO)
    clock.advance(54)  # no redraw: the tooltip is read as it was drawn at the sign-in
    tooltip = view.tray.toolTip()
    assert SECONDS.search(tooltip) is None, tooltip
    assert "expires in 15 min" in tooltip  # 14:06 left, rounded up like the icon's 15
    assert "Next ping in 10 min" in tooltip


def test_paused_still_shows_when_the_session_expires(
    view: TrayView, keeper: Keeper, clock: FakeClock
) -> None:
    keeper.sign_in(DEMO)
    keeper.pause()
    clock.advance(120)
    keeper.tick()
    assert view.status_action.text().startswith("Session: paused, expires in 13:00")
    assert "paused, expires in 13 min" in view.tray.toolTip()


def test_menu_and_tooltip_name_the_account_and_the_server(
    view: TrayView, keeper: Keeper, simulator: Simulator
) -> None:
    keeper.sign_in(DEMO)
    host = simulator.base_url.removeprefix("http://")
    expected = f"Account: demo (API ID 1000001) at {host}"
    assert view.account_action.text() == expected
    assert expected in view.tray.toolTip()
    assert "click to refresh" in view.balance_action.text()


def test_menu_and_settings_say_start_at_login_alike(view: TrayView, tmp_path: Path) -> None:
    dialog = SettingsDialog(
        Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    )
    box = dialog.findChild(QCheckBox, "start_at_login")
    assert box.text() == view.login_action.text() == "Start at login"
    dialog.close()


def test_retrying_says_why_in_the_menu(
    view: TrayView, keeper: Keeper, simulator: Simulator
) -> None:
    keeper.sign_in(DEMO)
    simulator.force_next_fault("503")
    keeper.ping_now()
    assert keeper.snapshot.state is State.RETRYING
    assert "HTTP 503" in view.status_action.text()


def test_a_refused_connection_says_so(qapp: object) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again before the request: nothing listens
    with pytest.raises(Exception, match="cannot reach the server: the connection was refused"):
        ApiClient(f"http://127.0.0.1:{port}").ping("a" * 32)


def test_sign_out_keeps_the_credentials_and_clears_the_copied_id(
    view: TrayView,
    keeper: Keeper,
    store: CredentialStore,
    simulator: Simulator,
    tmp_path: Path,
    qtbot: QtBot,
) -> None:
    actions = actions_for(view, keeper, store, tmp_path)
    keeper.sign_in(DEMO)
    session_id = keeper.snapshot.session_id
    view.copy_session_id()
    assert QGuiApplication.clipboard().text(QClipboard.Mode.Clipboard) == session_id
    assert view.balance_action.isVisible()
    view.sign_action.trigger()
    assert keeper.snapshot.state is State.SIGNED_OUT
    assert store.load() == DEMO
    assert store.load_session_id() == session_id  # the command line may still use it
    assert QGuiApplication.clipboard().text(QClipboard.Mode.Clipboard) == ""
    assert not view.balance_action.isVisible()
    actions.open_sign_in()
    dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, SignInDialog))
    texts = [dialog.findChild(QLineEdit, n).text() for n in ("api_id", "user", "password")]
    assert texts == [DEMO_API_ID, DEMO_USER, DEMO_PASSWORD]
    dialog.close()


def test_forget_credentials_asks_first_and_then_deletes_them(
    view: TrayView, keeper: Keeper, store: CredentialStore, tmp_path: Path
) -> None:
    actions_for(view, keeper, store, tmp_path)
    assert not view.forget_action.isEnabled()  # nothing stored yet
    keeper.sign_in(DEMO)
    assert view.forget_action.isEnabled()
    view.forget_action.trigger()
    box = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox))
    assert box.isVisible()
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert store.load() == DEMO
    assert keeper.snapshot.state is State.ACTIVE

    view.forget_action.trigger()
    box = next(
        w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()
    )
    forget = next(b for b in box.findChildren(QPushButton) if b.text() == "Forget")
    forget.click()
    assert store.load() is None
    assert store.load_session_id() is None
    assert keeper.snapshot.state is State.SIGNED_OUT
    assert keeper.account is None
    assert not view.forget_action.isEnabled()


def test_an_id_that_died_while_paused_cannot_be_copied(
    view: TrayView, keeper: Keeper, clock: FakeClock
) -> None:
    keeper.sign_in(DEMO)
    assert view.copy_action.isEnabled()
    keeper.pause()
    clock.advance(15 * 60)
    keeper.tick()
    assert keeper.snapshot.state is State.PAUSED
    assert not view.copy_action.isEnabled()
    QGuiApplication.clipboard().clear()
    view.copy_session_id()
    assert QGuiApplication.clipboard().text() == ""
