"""Settings apply at once on OK, seen in the real simulators' request logs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QCheckBox, QLabel, QLineEdit, QSpinBox
from pytestqt.qtbot import QtBot

from tray_app.core.clock import FakeClock
from tray_app.core.state import State
from tray_app.qt.keeper import Keeper, SyncRunner
from tray_app.services.credentials import Credentials, CredentialStore
from tray_app.services.settings import DEFAULT_BASE_URL, Settings
from tray_app.sim.server import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER, Simulator
from tray_app.ui.actions import UserActions
from tray_app.ui.clipboard import SecretClipboard
from tray_app.ui.dialogs import SettingsDialog
from tray_app.ui.notify import Notifier
from tray_app.ui.tray import TrayView

DEMO = Credentials(DEMO_API_ID, DEMO_USER, DEMO_PASSWORD)


class Server:
    """A simulator on loopback and its request log, each line stamped with the fake time."""

    def __init__(self, clock: FakeClock) -> None:
        self.log: list[tuple[float, str, str]] = []
        self.sim = Simulator(
            clock=clock,
            on_request=lambda r: self.log.append((clock.wall(), r["command"], r["outcome"])),
        ).start()

    def commands(self) -> list[str]:
        return [command for _, command, _ in self.log]


@pytest.fixture(autouse=True)
def close_windows(qapp: QApplication) -> Iterator[None]:
    yield
    for widget in QApplication.topLevelWidgets():
        widget.close()


@pytest.fixture
def servers(clock: FakeClock) -> Iterator[tuple[Server, Server]]:
    first, second = Server(clock), Server(clock)
    yield first, second
    first.sim.stop()
    second.sim.stop()


def wired(
    qapp: QApplication, tmp_path: Path, clock: FakeClock, base_url: str, **kwargs: object
) -> tuple[Keeper, Settings, UserActions]:
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    store = CredentialStore(memory_only=True)
    keeper = Keeper(store, base_url=base_url, clock=clock, runner=SyncRunner())
    notifier = Notifier(lambda *_: None, platform="test")
    view = TrayView(keeper, notifier, SecretClipboard(), clock=clock.wall)
    actions = UserActions(
        view=view,
        keeper=keeper,
        settings=settings,
        store=store,
        notifier=notifier,
        clipboard=SecretClipboard(),
        quit_app=lambda: None,
        **kwargs,  # type: ignore[arg-type]
    )
    actions.setParent(view)
    keeper.setParent(view)
    return keeper, settings, actions


def open_settings(qtbot: QtBot, actions: UserActions) -> SettingsDialog:
    actions.open_settings()
    dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, SettingsDialog)]
    dialog = next(d for d in dialogs if d.isVisible())
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    return dialog


def retype(qtbot: QtBot, widget: QLineEdit | QSpinBox, text: str) -> None:
    widget.setFocus()
    widget.selectAll()
    qtbot.keyClicks(widget, text)


def test_a_new_interval_reschedules_the_next_ping_now(
    qapp: QApplication, qtbot: QtBot, tmp_path: Path, clock: FakeClock, servers: tuple
) -> None:
    server, _ = servers
    keeper, settings, actions = wired(qapp, tmp_path, clock, server.sim.base_url, demo=False)
    settings.base_url = server.sim.base_url
    keeper.sign_in(DEMO)
    signed_in_at = clock.wall()
    clock.advance(90)
    keeper.tick()
    assert server.commands()[:1] == ["auth"]
    dialog = open_settings(qtbot, actions)
    retype(qtbot, dialog.findChild(QSpinBox, "ping_interval_minutes"), "1")
    qtbot.keyClick(dialog.findChild(QSpinBox, "ping_interval_minutes"), Qt.Key.Key_Return)
    pings = [t for t, command, _ in server.log if command in ("ping", "getbalance")]
    assert pings and pings[-1] == signed_in_at + 90, server.log
    assert keeper.snapshot.next_ping_at == signed_in_at + 90 + 60


def test_a_new_base_url_signs_in_on_the_new_server(
    qapp: QApplication, qtbot: QtBot, tmp_path: Path, clock: FakeClock, servers: tuple
) -> None:
    old, new = servers
    keeper, settings, actions = wired(qapp, tmp_path, clock, old.sim.base_url, demo=False)
    settings.base_url = old.sim.base_url
    keeper.sign_in(DEMO)
    old_id = keeper.snapshot.session_id
    dialog = open_settings(qtbot, actions)
    url = dialog.findChild(QLineEdit, "base_url")
    retype(qtbot, url, new.sim.base_url)
    qtbot.keyClick(url, Qt.Key.Key_Return)
    assert new.commands()[:1] == ["auth"]
    assert keeper.snapshot.state is State.ACTIVE
    assert keeper.snapshot.session_id not in (None, old_id)
    before = len(old.log)
    for _ in range(3):
        clock.advance(600)
        keeper.tick()
    assert len(old.log) == before, "the old server still gets requests"
    assert new.sim.count("ping", "ok") == 3
    assert new.sim.count("ping", "ERR 003") == 0


def test_a_base_url_set_for_this_run_is_shown_locked_and_never_overwritten(
    qapp: QApplication, qtbot: QtBot, tmp_path: Path, clock: FakeClock, servers: tuple
) -> None:
    server, _ = servers
    url = server.sim.base_url
    keeper, settings, actions = wired(qapp, tmp_path, clock, url, demo=False, base_url_override=url)
    keeper.sign_in(DEMO)
    dialog = open_settings(qtbot, actions)
    url = dialog.findChild(QLineEdit, "base_url")
    assert url.text() == server.sim.base_url
    assert not url.isEnabled()
    assert "CLICKATELL_BASE_URL" in dialog.findChild(QLabel, "base_url_locked").text()
    spin = dialog.findChild(QSpinBox, "ping_interval_minutes")
    retype(qtbot, spin, "5")
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert settings.base_url == DEFAULT_BASE_URL
    assert settings.ping_interval_minutes == 5
    clock.advance(300)
    keeper.tick()
    assert keeper.base_url == server.sim.base_url
    assert server.sim.count("ping", "ok") == 1
    assert keeper.snapshot.state is State.ACTIVE


def test_the_demo_locks_what_would_touch_the_real_app(
    qapp: QApplication,
    qtbot: QtBot,
    tmp_path: Path,
    clock: FakeClock,
    servers: tuple,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    server, _ = servers
    _keeper, settings, actions = wired(qapp, tmp_path, clock, server.sim.base_url, demo=True)
    settings.base_url = server.sim.base_url
    dialog = open_settings(qtbot, actions)
    login = dialog.findChild(QCheckBox, "start_at_login")
    url = dialog.findChild(QLineEdit, "base_url")
    assert not login.isEnabled() and not url.isEnabled()
    assert "demo" in dialog.findChild(QLabel, "start_at_login_locked").text()
    assert "demo" in dialog.findChild(QLabel, "base_url_locked").text()
    login.setChecked(True)
    url.setText("https://example.com")
    qtbot.keyClick(dialog.findChild(QSpinBox, "ping_interval_minutes"), Qt.Key.Key_Return)
    actions.set_start_at_login(True)
    assert not (config / "autostart").exists()
    assert settings.base_url == server.sim.base_url
    assert settings.start_at_login is False


def test_the_proxy_setting_starts_and_stops_it_and_it_follows_a_new_base_url(
    qapp: QApplication, qtbot: QtBot, tmp_path: Path, clock: FakeClock, servers: tuple
) -> None:
    import requests

    from tray_app.qt.proxy_service import ProxyService

    old, new = servers
    settings_file = tmp_path / "settings.ini"
    keeper, settings, actions = wired(qapp, tmp_path, clock, old.sim.base_url, demo=False)
    proxy = ProxyService(keeper, parent=keeper)
    actions._proxy = proxy
    settings.base_url = old.sim.base_url
    keeper.sign_in(DEMO)
    dialog = open_settings(qtbot, actions)
    dialog.findChild(QCheckBox, "local_proxy").setChecked(True)
    qtbot.keyClick(dialog.findChild(QLineEdit, "base_url"), Qt.Key.Key_Return)
    assert "local_proxy=true" in settings_file.read_text()
    assert proxy.url is not None
    assert requests.get(f"{proxy.url}/http/ping").text.startswith("OK: ")
    assert old.commands()[-1] == "ping"
    dialog = open_settings(qtbot, actions)
    url = dialog.findChild(QLineEdit, "base_url")
    retype(qtbot, url, new.sim.base_url)
    qtbot.keyClick(url, Qt.Key.Key_Return)
    qtbot.wait(10)
    before_old, before_new = len(old.log), new.commands().count("getbalance")
    assert requests.get(f"{proxy.url}/http/getbalance").text == "Credit: 42.50\n"
    assert new.commands()[:1] == ["auth"]
    assert new.commands().count("getbalance") == before_new + 1
    assert len(old.log) == before_old
    dialog = open_settings(qtbot, actions)
    dialog.findChild(QCheckBox, "local_proxy").setChecked(False)
    qtbot.keyClick(dialog.findChild(QLineEdit, "base_url"), Qt.Key.Key_Return)
    assert proxy.url is None


def test_the_app_shows_a_base_url_from_the_environment_as_set_for_this_run(
    qapp: QApplication,
    tmp_path: Path,
    clock: FakeClock,
    servers: tuple,
    monkeypatch: pytest.MonkeyPatch,
    keyring_env: object,
) -> None:
    """Started with CLICKATELL_BASE_URL, Settings shows that URL, locked, not the stored one."""
    from tray_app import app as tray_app_module

    for name in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    server, _ = servers
    monkeypatch.setenv("CLICKATELL_BASE_URL", server.sim.base_url)
    built = tray_app_module._build(qapp, demo=False, base_url=server.sim.base_url, verbose=False)
    try:
        assert built.actions is not None
        built.actions.open_settings()
        dialog = next(
            w
            for w in QApplication.topLevelWidgets()
            if isinstance(w, SettingsDialog) and w.isVisible()
        )
        url = dialog.findChild(QLineEdit, "base_url")
        assert url.text() == server.sim.base_url
        assert not url.isEnabled()
        assert dialog.findChild(QLabel, "base_url_locked") is not None
        assert built.keeper.base_url == server.sim.base_url
    finally:
        for widget in QApplication.topLevelWidgets():
            widget.close()
        tray_app_module._tear_down(built)
