"""Reading the StatusNotifierWatcher's entries: every spelling hosts use names the bus name."""

from __future__ import annotations

import pytest

from tray_app.qt.sni import bus_name_of


@pytest.mark.parametrize(
    ("entry", "name"),
    [
        (":1.76/StatusNotifierItem", ":1.76"),
        (":1.106@/StatusNotifierItem", ":1.106"),
        ("org.kde.StatusNotifierItem-42-1", "org.kde.StatusNotifierItem-42-1"),
        ("org.kde.StatusNotifierItem-42-1/StatusNotifierItem", "org.kde.StatusNotifierItem-42-1"),
    ],
)
def test_bus_name_of_each_spelling(entry: str, name: str) -> None:
    assert bus_name_of(entry) == name
