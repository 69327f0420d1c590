"""The demo's menu opens the simulator's inbox: the URL goes to the desktop's URL opener.

Qt's own hook (``QDesktopServices.setUrlHandler``) takes the URL in place of the user's
browser, so the test opens nothing on the desktop; the URL is then fetched to show that it
is the running demo simulator's inbox page.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication

from tray_app import app as tray_app_module
from tray_app.app import Services


class Opened(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url.toString())


@pytest.fixture
def demo(qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    built = tray_app_module._build(qapp, demo=True, base_url=None, verbose=False)
    yield built
    tray_app_module._tear_down(built)


def test_open_the_simulators_inbox_opens_its_page(demo: Services, http: requests.Session) -> None:
    action = demo.view.inbox_action
    assert action.text() == "Open the simulator's inbox"
    assert action in demo.view.menu.actions()
    opened = Opened()
    QDesktopServices.setUrlHandler("http", opened, "open")
    try:
        action.trigger()
    finally:
        QDesktopServices.unsetUrlHandler("http")
    assert demo.simulator is not None
    assert opened.urls == [f"{demo.simulator.base_url}/sim/"]
    page = http.get(opened.urls[0], timeout=5)
    assert page.status_code == 200
    assert "<title>Simulator inbox</title>" in page.text
