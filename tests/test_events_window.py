"""The Recent events window after a scripted morning against the real simulator, offscreen."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from tray_app.core.clock import FakeClock
from tray_app.core.history import HISTORY_LIMIT, Entry, History
from tray_app.qt.history_feed import HistoryFeed
from tray_app.qt.keeper import Keeper
from tray_app.services.credentials import Credentials
from tray_app.sim.server import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER, Simulator
from tray_app.ui.events_window import EventsWindow

DEMO = Credentials(DEMO_API_ID, DEMO_USER, DEMO_PASSWORD)


def run_for(keeper: Keeper, clock: FakeClock, seconds: int) -> None:
    """Let time pass as the keeper's timer would, a few seconds at a time."""
    for _ in range(seconds // 5):
        clock.advance(5)
        keeper.tick()


def local(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


def test_a_morning_is_listed_newest_first_with_reasons_and_times(
    qtbot: QtBot, clock: FakeClock, simulator: Simulator, keeper: Keeper, tmp_path: Path
) -> None:
    feed = HistoryFeed(keeper, clock.wall)  # built with the keeper, before the window
    start = clock.wall()
    keeper.sign_in(DEMO)
    run_for(keeper, clock, 1800)  # three pings, at 10, 20 and 30 minutes
    simulator.force_next_fault("503")
    run_for(keeper, clock, 610)  # the fourth ping meets a 503; the retry 5 s later works
    simulator.expire_all()
    run_for(keeper, clock, 610)  # the next ping finds the session gone: sign in again
    opened: list[Path] = []
    window = EventsWindow(
        feed, log_dir=tmp_path / "logs", opener=lambda p: bool(opened.append(p)) or True
    )
    qtbot.addWidget(window)
    window.show()

    lines = window.lines()
    oldest_first = [line.split("  ", 1)[1] for line in reversed(lines)]
    assert oldest_first[0].startswith("✓ Signed in: session ID ")
    assert oldest_first[1:4] == ["✓ Ping OK: session kept alive"] * 3
    assert oldest_first[4].startswith("✗ Ping failed: The server sent a web page")
    assert "(HTTP 503)" in oldest_first[4]
    assert oldest_first[5] == "✓ Ping OK: session kept alive"
    assert oldest_first[6] == "✗ Ping failed: The session had expired on the server (ERR 003)"
    assert oldest_first[7].startswith("✓ Signed in: session ID ")
    assert oldest_first[8].startswith("• Session renewed with a new ID ")
    assert len(oldest_first) == 9
    session_id = keeper.snapshot.session_id
    assert session_id and all(session_id not in line for line in lines)
    assert lines[-1].startswith(local(start) + "  ")
    assert lines[0].startswith(local(start + 1800 + 605 + 600) + "  ")

    window.list.setCurrentRow(0)
    window.copy_button.click()
    assert QGuiApplication.clipboard().text() == lines[0]
    window.open_button.click()
    assert opened == [tmp_path / "logs"]
    assert (tmp_path / "logs").is_dir()


def test_the_window_follows_new_events_while_open(
    qtbot: QtBot, clock: FakeClock, simulator: Simulator, keeper: Keeper, tmp_path: Path
) -> None:
    feed = HistoryFeed(keeper, clock.wall)
    window = EventsWindow(feed, log_dir=tmp_path)
    qtbot.addWidget(window)
    window.show()
    assert window.lines() == ["Nothing has happened yet in this run."]
    assert not window.copy_button.isEnabled()
    keeper.sign_in(DEMO)
    keeper.pause()
    assert [line.split("  ", 1)[1] for line in window.lines()][:1] == ["• Keep-alive paused"]


def test_a_failed_open_says_where_the_log_is(
    qtbot: QtBot, clock: FakeClock, simulator: Simulator, keeper: Keeper, tmp_path: Path
) -> None:
    window = EventsWindow(
        HistoryFeed(keeper, clock.wall), log_dir=tmp_path, opener=lambda _p: False
    )
    qtbot.addWidget(window)
    window.show()
    window.open_button.click()
    assert window.note.isVisible()
    assert str(tmp_path) in window.note.text()


def test_the_history_keeps_the_last_200() -> None:
    history = History()
    for n in range(HISTORY_LIMIT + 50):
        history.add(Entry(float(n), f"event {n}"))
    assert len(history) == HISTORY_LIMIT
    newest = history.newest_first()
    assert newest[0].text == f"event {HISTORY_LIMIT + 49}"
    assert newest[-1].text == "event 50"
