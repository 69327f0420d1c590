"""The status window shows all it says: nothing is clipped when a note and a Copy button appear."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from tray_app.qt.keeper import Keeper
from tray_app.ui.status_window import StatusWindow

WHY = (
    "This desktop lets only a window you click into write the clipboard, and a tray menu is "
    "not such a window. Click Copy to put the session ID on the clipboard."
)


@pytest.fixture
def keeper(signed_in_keeper: Keeper) -> Keeper:
    return signed_in_keeper


def assert_nothing_clipped(window: StatusWindow) -> None:
    for label in window.findChildren(QLabel):
        if not label.isVisible():
            continue
        needed = (
            label.heightForWidth(label.width()) if label.wordWrap() else label.sizeHint().height()
        )
        assert label.height() >= needed, f"{label.text()[:40]!r} squeezed to {label.height()}px"
        assert label.geometry().bottom() <= window.height(), f"{label.text()[:40]!r} cut off"


def test_a_copy_offer_on_a_shown_window_grows_it_to_fit(keeper: Keeper, qtbot: QtBot) -> None:
    window = StatusWindow(keeper, [("Ping now", lambda: None)], explanation=WHY)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert_nothing_clipped(window)

    window.offer_copy(WHY + " " + WHY, lambda: None)
    qtbot.wait(10)
    assert window.copy_button.isVisible()
    assert_nothing_clipped(window)
