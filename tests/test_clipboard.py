"""The secret clipboard: its marks, its compare-then-clear timer, and a real X11 round trip.

The offscreen tests read Qt's in-process clipboard. The X11 tests run the copier in a child
process on Xvfb (the test process itself is offscreen) and read the selection with xclip,
so the selection owner answers from its own event loop, never blocked by the reader.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import IO

import pytest
from desktop_stack import Service, require_tools
from PySide6.QtGui import QClipboard, QGuiApplication
from pytestqt.qtbot import QtBot

from tray_app.ui.clipboard import (
    MAC_CONCEALED,
    PASSWORD_HINT,
    WINDOWS_FORMATS,
    SecretClipboard,
    secret_mime_data,
)

SESSION_ID = "f6b9a0c1d2e3f40516273849abcd5d66"
WINDOWS_NAMES = (
    "ExcludeClipboardContentFromMonitorProcessing",
    "CanIncludeInClipboardHistory",
    "CanUploadToCloudClipboard",
)


@pytest.fixture
def system_clipboard(qapp: QGuiApplication) -> Iterator[QClipboard]:
    clipboard = QGuiApplication.clipboard()
    clipboard.clear()
    yield clipboard
    clipboard.clear()


def test_copy_puts_the_text_and_the_password_hint(
    system_clipboard: QClipboard, qtbot: QtBot
) -> None:
    copier = SecretClipboard(platform="linux")
    with qtbot.waitSignal(copier.copied):
        copier.copy(SESSION_ID)
    mime = system_clipboard.mimeData()
    assert system_clipboard.text() == SESSION_ID
    assert mime.text() == SESSION_ID
    assert bytes(mime.data(PASSWORD_HINT).data()) == b"secret"
    assert not mime.hasFormat(MAC_CONCEALED)


def test_windows_gets_the_history_and_cloud_exclusion_formats() -> None:
    mime = secret_mime_data(SESSION_ID, "win32")
    for name in WINDOWS_NAMES:
        qt_name = f'application/x-qt-windows-mime;value="{name}"'
        assert bytes(mime.data(qt_name).data()) == b"\x00\x00\x00\x00", name
    assert set(WINDOWS_FORMATS) <= set(mime.formats())
    assert bytes(mime.data(PASSWORD_HINT).data()) == b"secret"
    assert mime.text() == SESSION_ID


def test_windows_formats_reach_the_clipboard(system_clipboard: QClipboard) -> None:
    SecretClipboard(platform="win32").copy(SESSION_ID)
    formats = system_clipboard.mimeData().formats()
    assert set(WINDOWS_FORMATS) <= set(formats)


def test_macos_gets_the_concealed_type() -> None:
    mime = secret_mime_data(SESSION_ID, "darwin")
    assert mime.text() == SESSION_ID
    assert mime.hasFormat(MAC_CONCEALED)
    assert not any("windows-mime" in name for name in mime.formats())


def test_linux_gets_no_windows_or_mac_formats() -> None:
    formats = secret_mime_data(SESSION_ID, "linux").formats()
    assert MAC_CONCEALED not in formats
    assert not set(WINDOWS_FORMATS) & set(formats)


def test_auto_clear_clears_our_copy(system_clipboard: QClipboard, qtbot: QtBot) -> None:
    copier = SecretClipboard(clear_after=0.05, platform="linux")
    copier.copy(SESSION_ID)
    assert copier.clear_pending
    with qtbot.waitSignal(copier.cleared, timeout=2000):
        pass
    assert system_clipboard.text() == ""
    assert not copier.clear_pending


def test_auto_clear_spares_what_the_user_copied_since(
    system_clipboard: QClipboard, qtbot: QtBot
) -> None:
    copier = SecretClipboard(clear_after=0.05, platform="linux")
    copier.copy(SESSION_ID)
    system_clipboard.setText("the user's own text")
    with qtbot.assertNotEmitted(copier.cleared, wait=200):
        qtbot.waitUntil(lambda: not copier.clear_pending, timeout=2000)
    assert system_clipboard.text() == "the user's own text"


def test_zero_never_starts_a_timer(system_clipboard: QClipboard, qtbot: QtBot) -> None:
    copier = SecretClipboard(clear_after=0, platform="linux")
    copier.copy(SESSION_ID)
    assert not copier.clear_pending
    with qtbot.assertNotEmitted(copier.cleared, wait=100):
        pass
    assert system_clipboard.text() == SESSION_ID


def test_setting_zero_cancels_a_pending_clear(system_clipboard: QClipboard) -> None:
    copier = SecretClipboard(clear_after=30, platform="linux")
    copier.copy(SESSION_ID)
    assert copier.clear_pending
    copier.clear_after = 0
    assert not copier.clear_pending
    assert system_clipboard.text() == SESSION_ID


def test_a_new_copy_restarts_the_timer_with_the_new_text(
    system_clipboard: QClipboard, qtbot: QtBot
) -> None:
    copier = SecretClipboard(clear_after=0.05, platform="linux")
    copier.copy("old id")
    copier.copy(SESSION_ID)
    with qtbot.waitSignal(copier.cleared, timeout=2000):
        pass
    assert system_clipboard.text() == ""


def test_negative_seconds_are_refused() -> None:
    with pytest.raises(ValueError):
        SecretClipboard(clear_after=-1)


QUIT_SCRIPT = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from tray_app.ui.clipboard import SecretClipboard

app = QGuiApplication([])
copier = SecretClipboard(clear_after=float(sys.argv[1]), platform="linux")
copier.copy("{secret}")
if sys.argv[2] == "quit":
    QTimer.singleShot(0, app.quit)
    app.exec()
    print(repr(QGuiApplication.clipboard().text()))
"""


def run_offscreen(clear_after: float, how: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", QUIT_SCRIPT.format(secret=SESSION_ID), str(clear_after), how],
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize("clear_after", [0, 60])
def test_quitting_clears_our_copy(clear_after: int) -> None:
    result = run_offscreen(clear_after, "quit")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == repr("")


def test_exiting_without_a_quit_does_not_crash() -> None:
    # Offscreen Qt would delete the Python-made QMimeData after Python is gone: SIGSEGV.
    result = run_offscreen(0, "exit")
    assert result.returncode == 0, result.stderr


# The real X11 clipboard, read by xclip.

COPIER_SCRIPT = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from tray_app.ui.clipboard import SecretClipboard

app = QGuiApplication([])
clear_after = float(sys.argv[2])
copier = SecretClipboard(clear_after=clear_after, platform="linux")
copier.cleared.connect(lambda: print("cleared", flush=True))
copier.copy(sys.argv[1])
print("copied", flush=True)
if clear_after:
    # Fires after the clear timer: whatever the clear did is done by then.
    QTimer.singleShot(round(clear_after * 1000) + 100, lambda: print("checked", flush=True))
app.exec()
"""


class Copier:
    """A child process on Xvfb that owns the CLIPBOARD selection through SecretClipboard."""

    def __init__(self, display: Service, text: str, clear_after: float) -> None:
        self.env = {**display.env, "QT_QPA_PLATFORM": "xcb"}
        self.process = subprocess.Popen(
            [sys.executable, "-c", COPIER_SCRIPT, text, str(clear_after)],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.said: list[str] = []

    def wait_for(self, word: str, timeout: float = 15) -> list[str]:
        stdout: IO[str] | None = self.process.stdout
        assert stdout is not None
        deadline = time.monotonic() + timeout
        while word not in self.said:
            remaining = deadline - time.monotonic()
            readable, _, _ = select.select([stdout], [], [], max(remaining, 0))
            line = stdout.readline() if readable else ""
            if not line:
                raise AssertionError(f"the copier never said {word!r}; it said {self.said}")
            self.said.append(line.strip())
        return self.said

    def xclip(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["xclip", "-o", "-selection", "clipboard", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def start_copier(x_display: Service) -> Iterator[Callable[..., Copier]]:
    """Starts copier children on the Xvfb display; stops them after the test."""
    require_tools("xclip")
    started: list[Copier] = []

    def start(text: str, clear_after: float = 0) -> Copier:
        started.append(Copier(x_display, text, clear_after))
        return started[-1]

    yield start
    for each in started:
        each.stop()


def test_x11_clipboard_holds_the_text_and_offers_the_hint(
    start_copier: Callable[..., Copier],
) -> None:
    owner = start_copier(SESSION_ID)
    owner.wait_for("copied")
    assert owner.xclip().stdout == SESSION_ID
    targets = owner.xclip("-t", "TARGETS").stdout.split()
    assert PASSWORD_HINT in targets
    assert owner.xclip("-t", PASSWORD_HINT).stdout == "secret"


def test_x11_auto_clear_empties_the_clipboard(start_copier: Callable[..., Copier]) -> None:
    owner = start_copier(SESSION_ID, 0.3)
    owner.wait_for("copied")
    assert owner.xclip().stdout == SESSION_ID
    assert "cleared" in owner.wait_for("checked")
    after = owner.xclip()
    assert after.returncode != 0
    assert after.stdout == ""


def test_x11_auto_clear_spares_a_later_copy(start_copier: Callable[..., Copier]) -> None:
    owner = start_copier(SESSION_ID, 1.5)
    owner.wait_for("copied")
    user = subprocess.Popen(
        ["xclip", "-quiet", "-i", "-selection", "clipboard"],
        env=owner.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert user.stdin is not None
        user.stdin.write("the user's own text")
        user.stdin.close()
        deadline = time.monotonic() + 5
        while owner.xclip().stdout != "the user's own text" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert "cleared" not in owner.wait_for("checked")
        assert owner.xclip().stdout == "the user's own text"
    finally:
        user.terminate()
        user.wait(timeout=10)
