"""The "tray shown" hook of the tests and the benchmark: precise, and never a fast poll."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect, QTimer
from PySide6.QtWidgets import QApplication, QSystemTrayIcon
from pytestqt.qtbot import QtBot

from tray_app.ui import shown_report


class PanelIcon(QSystemTrayIcon):
    """An icon whose geometry the test decides, as a tray host's embedding would."""

    embedded = False

    def geometry(self) -> QRect:
        return QRect(700, 1, 22, 22) if self.embedded else QRect()


@pytest.fixture
def on_a_panel(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """An xcb-like platform with a watcher that knows nothing of us until the test says so."""
    registered = [False]
    monkeypatch.setattr(shown_report.QGuiApplication, "platformName", staticmethod(lambda: "xcb"))
    import tray_app.qt.sni as sni

    monkeypatch.setattr(sni, "registered_by_this_process", lambda: registered[0])
    return registered


def test_embedding_is_reported_on_the_loop_turn_it_arrives_with_no_fast_timer(
    qapp: QApplication, qtbot: QtBot, on_a_panel: list[bool], capsys: pytest.CaptureFixture[str]
) -> None:
    icon = PanelIcon()
    shown_report.report_when_embedded(icon)
    timers = icon.findChildren(QTimer)
    assert timers and all(timer.interval() >= 50 for timer in timers)
    qtbot.wait(120)
    assert "tray-shown" not in capsys.readouterr().out

    icon.embedded = True
    QTimer.singleShot(0, lambda: None)  # any event wakes the loop, as the embedding's X events do
    qapp.processEvents()
    assert "tray-shown" in capsys.readouterr().out


def test_an_sni_registration_is_reported_and_the_hook_then_stops(
    qapp: QApplication, qtbot: QtBot, on_a_panel: list[bool], capsys: pytest.CaptureFixture[str]
) -> None:
    icon = PanelIcon()
    shown_report.report_when_embedded(icon)
    on_a_panel[0] = True
    out: list[str] = []
    qtbot.waitUntil(lambda: bool(out.append(capsys.readouterr().out) or "tray-shown" in out[-1]))
    assert not any(timer.isActive() for timer in icon.findChildren(QTimer))
    icon.embedded = True
    qtbot.wait(120)
    assert "tray-shown" not in capsys.readouterr().out, "reported twice"
