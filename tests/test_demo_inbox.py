"""The demo as a sandbox: its menu opens the simulator's inbox, and curl through its local
proxy sends a message that shows there.

Qt's own hook (``QDesktopServices.setUrlHandler``) takes the URL in place of the user's
browser, so the test opens nothing on the desktop; the URL is then fetched to show that it
is the running demo simulator's inbox page.
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from desktop_stack import require_tools
from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tray_app import app as tray_app_module
from tray_app.app import Services
from tray_app.core.state import State


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


def test_in_the_demo_curl_through_the_local_proxy_sends_a_message(
    demo: Services, http: requests.Session, qtbot: QtBot
) -> None:
    """The demo is a whole sandbox: no credentials or session ID in the call, and the message
    shows in the simulator's inbox."""
    require_tools("curl")
    proxy = demo.proxy
    assert proxy is not None and demo.simulator is not None
    demo.keeper.start()  # as run() does once the tray is up
    qtbot.waitUntil(lambda: proxy.url is not None, timeout=5000)
    qtbot.waitUntil(lambda: demo.keeper.snapshot.state is State.ACTIVE, timeout=5000)
    answers: list[str] = []

    def send() -> None:  # off the GUI thread, which the proxy's renewals may need
        answers.append(
            subprocess.run(
                [
                    "curl",
                    "-sS",
                    "--max-time",
                    "20",
                    "--data",
                    "to=27820000777&text=Via+proxy",
                    f"{proxy.url}/http/sendmsg",
                ],
                capture_output=True,
                text=True,
                check=False,
            ).stdout
        )

    thread = threading.Thread(target=send)
    thread.start()
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=25_000)
    assert re.fullmatch(r"ID: [0-9a-f]{32}\n", answers[0]), answers
    page = http.get(f"{demo.simulator.base_url}/sim/", timeout=5).text
    assert 'aria-label="Phone 27820000777"' in page
    assert "Via proxy" in page
