"""A copy is confirmed only when it happened: what the tray says and asks for, per outcome.

The real routes run on real desktops (test_desktop_wayland, test_desktop_sni); here the
clipboard answers each outcome in turn, offscreen, so the view's words can be checked alone.
"""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tray_app.qt.keeper import Keeper
from tray_app.ui.clipboard import (
    NEEDS_WINDOW_REASON,
    CopyOutcome,
    CopyResult,
    SecretClipboard,
)
from tray_app.ui.notify import Notifier
from tray_app.ui.tray import PendingCopy, TrayView


class AnsweringClipboard(SecretClipboard):
    """Answers every copy with ``outcome``; records what it was asked."""

    def __init__(self, outcome: CopyOutcome) -> None:
        super().__init__(platform="linux")
        self.outcome = outcome
        self.asked: list[tuple[str, bool]] = []

    def copy(self, text: str, *, from_window: bool = False) -> CopyOutcome:
        self.asked.append((text, from_window))
        return self.outcome


@pytest.fixture
def keeper(signed_in_keeper: Keeper) -> Keeper:
    return signed_in_keeper


def make_view(keeper: Keeper, clipboard: SecretClipboard, said: list[str]) -> TrayView:
    view = TrayView(keeper, Notifier(lambda *_: None, platform="test"), clipboard)
    view._say = lambda title, detail: said.append(title)  # type: ignore[method-assign]
    return view


def test_copied_is_said_only_after_the_clipboard_confirms(keeper: Keeper, qtbot: QtBot) -> None:
    said: list[str] = []
    view = make_view(keeper, AnsweringClipboard(CopyOutcome(CopyResult.COPIED)), said)
    with qtbot.assertNotEmitted(view.copy_needs_window):
        view.copy_session_id()
    assert said == ["Session ID copied"]


def test_a_desktop_that_needs_a_window_gets_the_window_and_no_claim(
    keeper: Keeper, qtbot: QtBot
) -> None:
    said: list[str] = []
    clipboard = AnsweringClipboard(CopyOutcome(CopyResult.NEEDS_WINDOW, NEEDS_WINDOW_REASON))
    view = make_view(keeper, clipboard, said)
    with qtbot.waitSignal(view.copy_needs_window) as asked:
        view.copy_session_id()
    pending, why = asked.args
    assert isinstance(pending, PendingCopy) and pending.text == keeper.snapshot.session_id
    assert keeper.snapshot.session_id not in repr(pending)
    assert why == NEEDS_WINDOW_REASON
    assert said == []


def test_a_failed_copy_is_said_plainly_and_offers_the_window(keeper: Keeper, qtbot: QtBot) -> None:
    said: list[str] = []
    clipboard = AnsweringClipboard(CopyOutcome(CopyResult.FAILED, "The copy failed: refused."))
    view = make_view(keeper, clipboard, said)
    with qtbot.waitSignal(view.copy_needs_window), qtbot.waitSignal(view.copy_reported) as told:
        view.copy_session_id()
    assert said == ["Not copied"]
    assert told.args == [False, "The copy failed: refused."]


def test_a_failed_copy_from_the_window_does_not_loop_back_to_it(
    keeper: Keeper, qtbot: QtBot
) -> None:
    said: list[str] = []
    view = make_view(keeper, AnsweringClipboard(CopyOutcome(CopyResult.FAILED, "no focus")), said)
    with qtbot.assertNotEmitted(view.copy_needs_window):
        view.copy_secret("x" * 32, "Session ID copied", "xxxx…xxxx", from_window=True)
    assert said == ["Not copied"]


def test_offscreen_copies_through_qt_and_reads_back(qapp: QApplication) -> None:
    clipboard = SecretClipboard(platform="linux")
    outcome = clipboard.copy("f" * 32)
    assert outcome.copied
    assert QApplication.clipboard().text() == "f" * 32
    assert clipboard.route == "Qt's clipboard"
    clipboard.clear_if_ours()
