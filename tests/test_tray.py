"""The tray view offscreen: every menu action, the click, the tooltip, notifications once each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QSystemTrayIcon

from tray_app.core.clock import FakeClock
from tray_app.core.state import State
from tray_app.qt.keeper import Keeper
from tray_app.services.credentials import Credentials
from tray_app.sim.server import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER, Simulator
from tray_app.ui.clipboard import SecretClipboard
from tray_app.ui.notify import Notifier
from tray_app.ui.tray import TrayView, status_lines

DEMO = Credentials(DEMO_API_ID, DEMO_USER, DEMO_PASSWORD)


class Shown:
    """Records what reaches the user through the tray's fallback notifications."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    def __call__(self, title: str, body: str, *_args: object) -> None:
        self.messages.append((title, body))


@pytest.fixture
def shown() -> Shown:
    return Shown()


@pytest.fixture
def view(keeper: Keeper, clock: FakeClock, shown: Shown) -> Iterator[TrayView]:
    notifier = Notifier(shown, platform="test")
    tray = TrayView(keeper, notifier, SecretClipboard(), clock=clock.wall)
    tray.show()
    yield tray
    tray.tray.hide()


def test_signed_out_menu(view: TrayView) -> None:
    assert view.sign_action.text() == "Sign in…"
    assert not view.copy_action.isEnabled()
    assert not view.ping_action.isEnabled()
    assert "signed out" in view.status_action.text()


def test_sign_in_action_asks_for_the_dialog(view: TrayView, qtbot: object) -> None:
    with qtbot.waitSignal(view.sign_in_requested, timeout=1000):
        view.sign_action.trigger()


def test_active_session_tooltip_and_status_line(
    view: TrayView, keeper: Keeper, clock: FakeClock
) -> None:
    keeper.sign_in(DEMO)
    session_id = keeper.snapshot.session_id
    assert session_id
    clock.advance(61)
    view.refresh()
    tooltip = view.tray.toolTip()
    assert "active, expires in 14 min" in tooltip
    assert "Next ping in 9 min" in tooltip
    assert f"ID {session_id[:4]}…{session_id[-4:]}" in tooltip
    assert session_id not in tooltip
    assert view.status_action.text().startswith("Session: active, expires in 13:59")
    assert view.sign_action.text() == "Sign out"


def test_left_click_copies_the_session_id_as_a_secret(view: TrayView, keeper: Keeper) -> None:
    keeper.sign_in(DEMO)
    view.tray.activated.emit(QSystemTrayIcon.ActivationReason.Trigger)
    clipboard = QGuiApplication.clipboard()
    assert clipboard.text() == keeper.snapshot.session_id
    assert bytes(clipboard.mimeData().data("x-kde-passwordManagerHint")) == b"secret"


def test_copy_action_copies(view: TrayView, keeper: Keeper) -> None:
    keeper.sign_in(DEMO)
    QGuiApplication.clipboard().setText("something else")
    view.copy_action.trigger()
    assert QGuiApplication.clipboard().text() == keeper.snapshot.session_id


def test_ping_now_pings(view: TrayView, keeper: Keeper, simulator: Simulator) -> None:
    keeper.sign_in(DEMO)
    view.ping_action.trigger()
    assert simulator.count("ping", "ok") == 1


def test_balance_is_fetched_after_sign_in_and_on_request(
    view: TrayView, keeper: Keeper, simulator: Simulator, qtbot: object
) -> None:
    keeper.sign_in(DEMO)
    qtbot.waitUntil(lambda: simulator.count("getbalance", "ok") == 1, timeout=2000)
    assert view.balance_action.text() == "Balance: 42.5 credits (click to refresh)"
    view.balance_action.trigger()
    assert simulator.count("getbalance", "ok") == 2
    qtbot.wait(50)
    assert simulator.count("getbalance") == 2
    assert simulator.count("ping") == 0


def test_pause_and_resume(view: TrayView, keeper: Keeper) -> None:
    keeper.sign_in(DEMO)
    view.pause_action.trigger()
    assert keeper.snapshot.state is State.PAUSED
    assert view.pause_action.text() == "Resume keep-alive"
    view.pause_action.trigger()
    assert keeper.snapshot.state is State.ACTIVE
    assert view.pause_action.text() == "Pause keep-alive"


def test_sign_out_action(view: TrayView, keeper: Keeper) -> None:
    keeper.sign_in(DEMO)
    view.sign_action.trigger()
    assert keeper.snapshot.state is State.SIGNED_OUT
    assert keeper.snapshot.session_id is None
    assert view.sign_action.text() == "Sign in…"


@pytest.mark.parametrize(
    ("action", "signal"),
    [
        ("settings_action", "settings_requested"),
        ("quit_action", "quit_requested"),
    ],
)
def test_menu_actions_emit_their_requests(
    view: TrayView, qtbot: object, action: str, signal: str
) -> None:
    with qtbot.waitSignal(getattr(view, signal), timeout=1000):
        getattr(view, action).trigger()


def test_start_at_login_toggle(view: TrayView, qtbot: object) -> None:
    with qtbot.waitSignal(view.start_at_login_toggled, timeout=1000) as blocker:
        view.login_action.trigger()
    assert blocker.args == [True]
    view.set_start_at_login(False)
    assert not view.login_action.isChecked()


def test_icon_changes_with_the_state(view: TrayView, keeper: Keeper) -> None:
    signed_out = view.tray.icon().pixmap(32).toImage()
    keeper.sign_in(DEMO)
    active = view.tray.icon().pixmap(32).toImage()
    keeper.pause()
    paused = view.tray.icon().pixmap(32).toImage()
    assert active != signed_out
    assert paused != active


def test_the_icon_follows_the_minute_on_the_keepers_tick(
    view: TrayView, keeper: Keeper, clock: FakeClock
) -> None:
    """The view has no timer of its own: the keeper's minute tick is its redraw."""
    keeper.sign_in(DEMO)
    fifteen = view.tray.icon().pixmap(32).toImage()
    assert keeper.wake_at is not None
    clock.advance(keeper.wake_at - clock.wall())
    assert view.tray.icon().pixmap(32).toImage() == fifteen
    keeper.tick()
    assert view.tray.icon().pixmap(32).toImage() != fifteen
    assert "expires in 14 min" in view.tray.toolTip()
    assert not view._menu_timer.isActive()


def test_menu_status_line_ticks_only_while_the_qt_menu_is_on_screen(
    view: TrayView, qtbot: object
) -> None:
    view.menu.popup(view.menu.pos())
    qtbot.waitUntil(view.menu.isVisible, timeout=2000)
    assert view.menu_ticking
    view.menu.hide()
    assert not view.menu_ticking


def test_a_dbus_menu_is_refreshed_on_about_to_show_and_never_ticks(
    view: TrayView, keeper: Keeper, clock: FakeClock
) -> None:
    """SNI hosts draw the menu themselves and send AboutToShow with no close to follow."""
    keeper.sign_in(DEMO)
    clock.advance(61)
    view.menu.aboutToShow.emit()
    assert view.status_action.text().startswith("Session: active, expires in 13:59")
    assert not view.menu_ticking


def test_a_tick_that_outlives_its_menu_stops_at_the_next_second(view: TrayView) -> None:
    view._start_ticking()
    assert view.menu_ticking and not view.menu.isVisible()
    view._menu_timer.timeout.emit()
    assert not view.menu_ticking


def test_copy_session_id_is_the_first_entry(view: TrayView) -> None:
    """GNOME's AppIndicator opens the menu on a left click: the copy stays one click away."""
    first = next(action for action in view.menu.actions() if not action.isSeparator())
    assert first is view.copy_action


def test_each_event_notifies_once(
    view: TrayView, keeper: Keeper, simulator: Simulator, shown: Shown, clock: FakeClock
) -> None:
    keeper.sign_in(DEMO)
    assert shown.messages == []
    simulator.expire_all()
    keeper.ping_now()
    assert [title for title, _ in shown.messages] == ["Session renewed with a new ID"]
    keeper.sign_in(Credentials(DEMO_API_ID, DEMO_USER, "wrong"))
    keeper.ping_now()
    titles = [title for title, _ in shown.messages]
    assert titles == ["Session renewed with a new ID", "Credentials rejected"]
    assert "ERR 001" in shown.messages[-1][1]


def test_status_lines_show_retry_and_error() -> None:
    from tray_app.core.state import Snapshot

    snapshot = Snapshot(
        state=State.RETRYING,
        session_id="c" * 32,
        expires_at=1000.0,
        next_ping_at=130.0,
        last_error="cannot reach the server",
    )
    assert status_lines(snapshot, 100.0) == [
        "Session: retrying, expires in 15:00",
        "Retry in 00:30: cannot reach the server",
        "ID cccc…cccc",
    ]
