"""Notifications: the texts, the once-each rule, and delivery to a real dunst on a private bus.

The dunst tests count with ``dunstctl`` on the same bus, as a person would see the bubbles.
The fallback tests use real failures: no bus address, a socket nobody listens on, a bus with
no notification service, and a bus that accepts the connection but never answers.
"""

from __future__ import annotations

import json
import logging
import re
import select
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from desktop_stack import STARTUP_TIMEOUT, Service, child_env, require_tools
from pytestqt.qtbot import QtBot

from tray_app import APP_NAME
from tray_app.core.session import Event
from tray_app.ui import notify
from tray_app.ui.notify import Notifier, event_text

SESSION_ID = "f6b9a0c1d2e3f40516273849abcd5d66"


class Recorder:
    """Stands in for QSystemTrayIcon.showMessage and remembers what it was asked to show."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.threads: set[threading.Thread] = set()

    def __call__(self, title: str, body: str) -> None:
        self.calls.append((title, body))
        self.threads.add(threading.current_thread())


@pytest.fixture
def make_notifier() -> Iterator[Callable[..., Notifier]]:
    """Notifiers whose worker threads are stopped after the test."""
    made: list[Notifier] = []

    def make(*args: Any, **kwargs: Any) -> Notifier:
        notifier = Notifier(*args, **kwargs)
        made.append(notifier)
        return notifier

    yield make
    for notifier in made:
        notifier.close()


# The texts.


def test_signed_in_shows_nothing() -> None:
    assert event_text(Event.SIGNED_IN, session_id=SESSION_ID, error=None) is None


def test_every_other_event_has_a_title_and_a_body() -> None:
    for event in set(Event) - {Event.SIGNED_IN}:
        text = event_text(event, session_id=SESSION_ID, error="ERR 001: Authentication failed")
        assert text is not None
        title, body = text
        assert title and body


def test_id_changed_names_the_new_id_masked_only() -> None:
    text = event_text(Event.ID_CHANGED, session_id=SESSION_ID, error=None)
    assert text == (
        "Session renewed with a new ID",
        "The old ID no longer works. Click the tray icon to copy the new one (f6b9…5d66).",
    )
    assert SESSION_ID not in text[1]


def test_rejected_carries_the_api_error_and_says_where_to_fix_it() -> None:
    text = event_text(Event.REJECTED, session_id=None, error="ERR 001: Authentication failed")
    assert text == (
        "Credentials rejected",
        "ERR 001: Authentication failed. Fix them under Sign in…",
    )


def test_rejected_masks_a_session_id_echoed_in_the_error() -> None:
    text = event_text(Event.REJECTED, session_id=None, error=f"ERR 003: session {SESSION_ID}")
    assert text is not None
    assert SESSION_ID not in text[1]
    assert "f6b9…5d66" in text[1]


def test_expired_and_back_online_texts() -> None:
    assert event_text(Event.EXPIRED, session_id=None, error=None) == (
        "Session expired",
        "Sign in again from the tray menu.",
    )
    assert event_text(Event.BACK_ONLINE, session_id=SESSION_ID, error=None) == (
        "Back online",
        "The session is alive again.",
    )


# The once-each rule and the switch, through the tray route (no bus involved).


def test_the_same_event_twice_in_a_row_is_shown_once(
    make_notifier: Callable[..., Notifier],
) -> None:
    shown = Recorder()
    notifier = make_notifier(shown, platform="win32")
    notifier.notify(Event.EXPIRED, "Session expired", "first")
    notifier.notify(Event.EXPIRED, "Session expired", "second")
    assert shown.calls == [("Session expired", "first")]


def test_another_event_in_between_lets_it_through_again(
    make_notifier: Callable[..., Notifier],
) -> None:
    shown = Recorder()
    notifier = make_notifier(shown, platform="win32")
    notifier.notify(Event.EXPIRED, "Session expired", "1")
    notifier.notify(Event.BACK_ONLINE, "Back online", "2")
    notifier.notify(Event.EXPIRED, "Session expired", "3")
    assert [body for _, body in shown.calls] == ["1", "2", "3"]


def test_signing_in_counts_as_an_event_in_between(make_notifier: Callable[..., Notifier]) -> None:
    shown = Recorder()
    notifier = make_notifier(shown, platform="win32")
    notifier.handle(Event.EXPIRED, session_id=None, error=None)
    notifier.handle(Event.SIGNED_IN, session_id=SESSION_ID, error=None)
    notifier.handle(Event.EXPIRED, session_id=None, error=None)
    assert [title for title, _ in shown.calls] == ["Session expired", "Session expired"]


def test_disabled_shows_nothing(make_notifier: Callable[..., Notifier], qtbot: QtBot) -> None:
    shown = Recorder()
    notifier = make_notifier(shown, platform="win32")
    notifier.enabled = False
    with qtbot.assertNotEmitted(notifier.sent):
        notifier.notify(Event.EXPIRED, "Session expired", "body")
    assert shown.calls == []
    assert notifier.enabled is False


def route_taken(
    notifier: Notifier,
    qtbot: QtBot,
    caplog: pytest.LogCaptureFixture,
    event: Event,
    title: str,
) -> str:
    """Notify once and wait for the route taken; warnings stay in ``caplog`` to be checked."""
    with (
        caplog.at_level(logging.WARNING, "tray_app.ui.notify"),
        qtbot.waitSignal(notifier.sent) as sent,
    ):
        notifier.notify(event, title, "body")
    return sent.args[0]


def test_other_platforms_use_the_tray_quietly(
    make_notifier: Callable[..., Notifier], qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    shown = Recorder()
    notifier = make_notifier(shown, platform="darwin")
    with qtbot.waitSignal(notifier.sent) as sent:
        notifier.notify(Event.BACK_ONLINE, "Back online", "body")
    assert sent.args == ["tray"]
    assert shown.calls == [("Back online", "body")]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# Falling back when D-Bus cannot deliver.


def test_no_session_bus_falls_back_to_the_tray_and_logs(
    make_notifier: Callable[..., Notifier],
    qtbot: QtBot,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    shown = Recorder()
    notifier = make_notifier(shown, platform="linux")
    assert route_taken(notifier, qtbot, caplog, Event.EXPIRED, "Session expired") == "tray"
    assert shown.calls == [("Session expired", "body")]
    assert "no session bus" in caplog.text


def test_a_bus_address_nobody_listens_on_falls_back(
    make_notifier: Callable[..., Notifier],
    qtbot: QtBot,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    shown = Recorder()
    notifier = make_notifier(shown, bus_address=f"unix:path={tmp_path / 'no-bus'}")
    assert route_taken(notifier, qtbot, caplog, Event.EXPIRED, "Session expired") == "tray"
    assert shown.calls == [("Session expired", "body")]
    assert shown.threads == {threading.main_thread()}
    assert "desktop notification failed" in caplog.text


def test_without_any_fallback_a_failure_is_only_a_log_line(
    make_notifier: Callable[..., Notifier],
    qtbot: QtBot,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    notifier = make_notifier(platform="linux")
    with (
        caplog.at_level(logging.WARNING, "tray_app.ui.notify"),
        qtbot.assertNotEmitted(notifier.sent),
    ):
        notifier.notify(Event.EXPIRED, "Session expired", "body")
    assert "notification not shown" in caplog.text


def test_a_bus_that_never_answers_does_not_block_the_caller(
    make_notifier: Callable[..., Notifier],
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr(notify, "REPLY_TIMEOUT_S", 0.5)
    path = tmp_path / "silent-bus"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))
        listener.listen()
        shown = Recorder()
        notifier = make_notifier(shown, bus_address=f"unix:path={path}")
        started = time.monotonic()
        notifier.notify(Event.EXPIRED, "Session expired", "body")
        returned_after = time.monotonic() - started
        with qtbot.waitSignal(notifier.sent, timeout=5000) as sent:
            pass
    assert returned_after < 0.05
    assert sent.args == ["tray"]
    assert shown.calls == [("Session expired", "body")]


BARE_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC
 "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={path}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


@pytest.fixture
def bare_bus(tmp_path: Path) -> Iterator[str]:
    """A session bus with no service files, so nothing can be activated on it; its address."""
    require_tools("dbus-daemon")
    config = tmp_path / "bare-bus.conf"
    config.write_text(BARE_BUS_CONFIG.format(path=tmp_path / "bare-bus"))
    process = subprocess.Popen(
        ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"],
        env=child_env({}),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        readable, _, _ = select.select([process.stdout], [], [], STARTUP_TIMEOUT)
        address = process.stdout.readline().decode().strip() if readable else ""
        assert address, "dbus-daemon printed no address"
        yield address
    finally:
        process.terminate()
        process.wait(timeout=5)


@pytest.mark.desktop
def test_a_bus_without_a_notification_service_falls_back(
    make_notifier: Callable[..., Notifier],
    qtbot: QtBot,
    caplog: pytest.LogCaptureFixture,
    bare_bus: str,
) -> None:
    shown = Recorder()
    notifier = make_notifier(shown, bus_address=bare_bus)
    assert route_taken(notifier, qtbot, caplog, Event.REJECTED, "Credentials rejected") == "tray"
    assert shown.calls == [("Credentials rejected", "body")]
    assert "ServiceUnknown" in caplog.text


# The real thing: dunst on a private bus.


def dunstctl(daemon: Service, *args: str) -> str:
    return subprocess.run(
        ["dunstctl", *args], env=daemon.env, capture_output=True, text=True, check=True, timeout=10
    ).stdout


def history(daemon: Service) -> list[dict[str, object]]:
    """Closed notifications, newest first, as {field: value}."""
    entries = json.loads(dunstctl(daemon, "history"))["data"][0]
    return [{key: field["data"] for key, field in entry.items()} for entry in entries]


@dataclass(frozen=True)
class Dunst:
    """The session's dunst, and the highest notification id it had shown before the test."""

    service: Service
    seen: int

    @property
    def address(self) -> str:
        return self.service.overrides["DBUS_SESSION_BUS_ADDRESS"]

    def displayed(self) -> int:
        return int(dunstctl(self.service, "count", "displayed"))

    def close_all(self, qtbot: QtBot) -> list[dict[str, object]]:
        """Close every bubble; return those of this test from the history, newest first.

        dunst 1.9 has no ``history-clear``, hence the id baseline.
        """
        dunstctl(self.service, "close-all")
        qtbot.waitUntil(lambda: self.displayed() == 0)
        return [entry for entry in history(self.service) if int(str(entry["id"])) > self.seen]


@pytest.fixture
def dunst(notification_daemon: Service, qtbot: QtBot) -> Dunst:
    """The session's dunst with nothing on screen."""
    dunstctl(notification_daemon, "close-all")
    qtbot.waitUntil(lambda: dunstctl(notification_daemon, "count", "displayed").strip() == "0")
    seen = max((int(str(entry["id"])) for entry in history(notification_daemon)), default=0)
    return Dunst(notification_daemon, seen)


@pytest.fixture
def on_dunst(dunst: Dunst, make_notifier: Callable[..., Notifier]) -> tuple[Notifier, Recorder]:
    shown = Recorder()
    return make_notifier(shown, bus_address=dunst.address), shown


def test_one_notification_shows_one_bubble(
    dunst: Dunst, on_dunst: tuple[Notifier, Recorder], qtbot: QtBot
) -> None:
    notifier, shown = on_dunst
    with qtbot.waitSignal(notifier.sent) as sent:
        notifier.notify(Event.BACK_ONLINE, "Back online", "The session is alive again.")
    assert sent.args == ["dbus"]
    assert dunst.displayed() == 1
    assert shown.calls == []
    (entry,) = dunst.close_all(qtbot)
    assert entry["appname"] == APP_NAME
    assert entry["summary"] == "Back online"
    assert entry["timeout"] == notify.NORMAL_TIMEOUT_MS * 1000  # dunst keeps microseconds
    icon = str(entry["icon_path"])
    assert icon.endswith(".png")
    assert Path(icon).is_absolute()
    assert Path(icon).is_file()


def test_critical_events_stay_until_dismissed(
    dunst: Dunst, on_dunst: tuple[Notifier, Recorder], qtbot: QtBot
) -> None:
    notifier, _ = on_dunst
    with qtbot.waitSignal(notifier.sent):
        notifier.notify(Event.EXPIRED, "Session expired", "Sign in again from the tray menu.")
    (entry,) = dunst.close_all(qtbot)
    assert entry["timeout"] == 0


def test_a_second_event_replaces_the_first_bubble(
    dunst: Dunst, on_dunst: tuple[Notifier, Recorder], qtbot: QtBot
) -> None:
    notifier, _ = on_dunst
    with qtbot.waitSignal(notifier.sent):
        notifier.notify(Event.EXPIRED, "Session expired", "first")
    assert dunst.displayed() == 1
    with qtbot.waitSignal(notifier.sent) as sent:
        notifier.notify(Event.BACK_ONLINE, "Back online", "second")
    assert sent.args == ["dbus"]
    assert dunst.displayed() == 1
    # A replaced bubble never reaches the history; a second, separate one would.
    entries = dunst.close_all(qtbot)
    assert [(entry["summary"], entry["body"]) for entry in entries] == [("Back online", "second")]


def test_the_same_event_twice_reaches_dunst_once(
    dunst: Dunst, on_dunst: tuple[Notifier, Recorder], qtbot: QtBot
) -> None:
    notifier, _ = on_dunst
    routes: list[str] = []
    notifier.sent.connect(routes.append)
    notifier.notify(Event.EXPIRED, "Session expired", "first")
    notifier.notify(Event.EXPIRED, "Session expired", "again")
    # Sent in order by one worker: had "again" gone out, its signal would come before this one.
    with qtbot.waitSignal(notifier.sent):
        notifier.notify(Event.BACK_ONLINE, "Back online", "later")
    qtbot.waitUntil(lambda: len(routes) == 2)
    assert routes == ["dbus", "dbus"]


def test_disabled_sends_nothing_to_dunst(
    dunst: Dunst, on_dunst: tuple[Notifier, Recorder], qtbot: QtBot
) -> None:
    notifier, shown = on_dunst
    notifier.enabled = False
    notifier.notify(Event.EXPIRED, "Session expired", "body")
    notifier.enabled = True
    with qtbot.waitSignal(notifier.sent):
        notifier.notify(Event.BACK_ONLINE, "Back online", "body")
    entries = dunst.close_all(qtbot)
    assert [entry["summary"] for entry in entries] == ["Back online"]
    assert shown.calls == []


def test_markup_in_an_error_text_is_shown_as_text(
    dunst: Dunst, on_dunst: tuple[Notifier, Recorder], qtbot: QtBot
) -> None:
    notifier, _ = on_dunst
    text = event_text(Event.REJECTED, session_id=None, error="<html> & co")
    assert text is not None
    title, body = text
    with qtbot.waitSignal(notifier.sent):
        notifier.notify(Event.REJECTED, title, body)
    (entry,) = dunst.close_all(qtbot)
    # dunst advertises body-markup, so the body went out escaped and renders literally.
    assert entry["body"] == "&lt;html&gt; &amp; co. Fix them under Sign in…"
    assert "&lt;html&gt;" in str(entry["message"])


def test_sent_arrives_on_the_gui_thread(
    dunst: Dunst, on_dunst: tuple[Notifier, Recorder], qtbot: QtBot
) -> None:
    notifier, _ = on_dunst
    threads: list[threading.Thread] = []
    notifier.sent.connect(lambda _route: threads.append(threading.current_thread()))
    with qtbot.waitSignal(notifier.sent):
        notifier.notify(Event.BACK_ONLINE, "Back online", "body")
    assert threads == [threading.main_thread()]


@pytest.fixture
def monitor(dunst: Dunst) -> Iterator[Callable[[], str]]:
    """dbus-monitor on dunst's bus, watching Notify calls; call the result for its output."""
    require_tools("dbus-monitor")
    process = subprocess.Popen(
        [
            "dbus-monitor",
            "--address",
            dunst.address,
            "type='method_call',interface='org.freedesktop.Notifications',member='Notify'",
        ],
        env=dunst.service.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or ()), daemon=True)
    reader.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    # It announces itself with the NameAcquired/NameLost signals once it listens.
    while not any("NameLost" in line for line in lines) and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield lambda: "".join(lines)
    finally:
        process.terminate()
        process.wait(timeout=5)


def notify_calls(output: str) -> list[tuple[int, int]]:
    """(replaces_id, urgency) of each Notify call in dbus-monitor's output."""
    calls = output.split("member=Notify")[1:]
    found = []
    for call in calls:
        replaces = re.search(r"^\s*uint32 (\d+)", call, re.MULTILINE)
        urgency = re.search(r'string "urgency"\s+variant\s+byte (\d+)', call)
        assert replaces and urgency, call
        found.append((int(replaces.group(1)), int(urgency.group(1))))
    return found


def test_urgency_and_replaces_id_on_the_wire(
    dunst: Dunst,
    on_dunst: tuple[Notifier, Recorder],
    monitor: Callable[[], str],
    qtbot: QtBot,
) -> None:
    notifier, _ = on_dunst
    with qtbot.waitSignal(notifier.sent):
        notifier.notify(Event.REJECTED, "Credentials rejected", "first")
    (entry,) = dunst.close_all(qtbot)
    with qtbot.waitSignal(notifier.sent):
        notifier.notify(Event.NO_CREDIT, "No credit left", "second")
    qtbot.waitUntil(lambda: len(notify_calls(monitor())) == 2)
    first_id = int(str(entry["id"]))
    assert notify_calls(monitor()) == [(0, 2), (first_id, 1)]


def notify_call_texts(output: str) -> list[str]:
    return output.split("member=Notify")[1:]


def test_renewed_has_a_copy_button_whose_click_comes_back(
    dunst: Dunst,
    on_dunst: tuple[Notifier, Recorder],
    monitor: Callable[[], str],
    qtbot: QtBot,
) -> None:
    notifier, _ = on_dunst
    with qtbot.waitSignal(notifier.sent):
        notifier.notify(Event.BACK_ONLINE, "Back online", "no button")
    with qtbot.waitSignal(notifier.sent):
        notifier.handle(Event.ID_CHANGED, session_id=SESSION_ID, error=None)
    qtbot.waitUntil(lambda: len(notify_call_texts(monitor())) == 2)
    plain, renewed = notify_call_texts(monitor())
    assert "copy-id" not in plain
    assert 'string "copy-id"' in renewed and 'string "Copy new ID"' in renewed
    with qtbot.waitSignal(notifier.action_invoked, timeout=5000) as clicked:
        dunstctl(dunst.service, "action", "0")
    assert clicked.args == [notify.COPY_ID_ACTION]


def test_copy_new_id_on_the_notification_copies_the_live_id(
    dunst: Dunst, make_notifier: Callable[..., Notifier], qtbot: QtBot
) -> None:
    from PySide6.QtGui import QGuiApplication

    from tray_app.core.clock import FakeClock
    from tray_app.qt.keeper import Keeper, SyncRunner
    from tray_app.services.credentials import Credentials, CredentialStore
    from tray_app.sim.server import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER, Simulator
    from tray_app.ui.clipboard import SecretClipboard
    from tray_app.ui.tray import TrayView

    clock = FakeClock()
    with Simulator(clock=clock) as simulator:
        keeper = Keeper(
            CredentialStore(memory_only=True),
            base_url=simulator.base_url,
            clock=clock,
            runner=SyncRunner(),
        )
        notifier = make_notifier(Recorder(), bus_address=dunst.address)
        view = TrayView(keeper, notifier, SecretClipboard(), clock=clock.wall)
        keeper.sign_in(Credentials(DEMO_API_ID, DEMO_USER, DEMO_PASSWORD))
        old_id = keeper.snapshot.session_id
        simulator.expire_all()
        with qtbot.waitSignal(notifier.sent):
            keeper.ping_now()
        new_id = keeper.snapshot.session_id
        assert new_id not in (None, old_id)
        QGuiApplication.clipboard().setText("something else")
        with qtbot.waitSignal(notifier.action_invoked, timeout=5000):
            dunstctl(dunst.service, "action", "0")
        assert QGuiApplication.clipboard().text() == new_id
        view.tray.hide()
        keeper.stop()
