"""The wired-up demo app in-process (offscreen): no-tray fallback and the sign-in flow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QPushButton

from tray_app import app as tray_app_module
from tray_app.app import Services
from tray_app.core.state import State
from tray_app.ui.dialogs import SignInDialog
from tray_app.ui.status_window import StatusWindow
from tray_app.ui.tray_wait import NO_TRAY_TEXT, show_tray_when_available


@pytest.fixture
def services(
    qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Services]:
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    built = tray_app_module._build(qapp, demo=True, base_url=None, verbose=False)
    yield built
    for widget in QApplication.topLevelWidgets():
        widget.close()
    tray_app_module._tear_down(built)


def open_windows(kind: type) -> list:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()]


def test_without_a_tray_a_window_says_so_and_the_icon_follows_a_late_panel(
    services: Services, qtbot: object, capsys: pytest.CaptureFixture[str]
) -> None:
    tray_is_there = False
    show_tray_when_available(
        services.app,
        services.view,
        services.windows.status_window,
        is_available=lambda: tray_is_there,
        wait_seconds=0.05,
        poll_ms=10,
        slow_poll_ms=20,
    )
    assert not services.view.tray.isVisible()
    qtbot.waitUntil(lambda: bool(open_windows(StatusWindow)), timeout=2000)
    stderr = capsys.readouterr().err
    assert "no system tray yet" in stderr
    assert NO_TRAY_TEXT.splitlines()[0] in stderr
    window = open_windows(StatusWindow)[0]
    assert "AppIndicator" in "".join(label.text() for label in window.findChildren(QLabel))

    tray_is_there = True
    qtbot.waitUntil(services.view.tray.isVisible, timeout=2000)
    assert not open_windows(StatusWindow)


def test_no_tray_window_shows_the_live_status(services: Services, qtbot: object) -> None:
    services.keeper.start()
    qtbot.waitUntil(lambda: services.keeper.snapshot.state is State.ACTIVE, timeout=5000)
    window = services.windows.status_window()
    window.show()
    assert window.status.text().startswith("Session: active, expires in 1")
    window.close()


def test_sign_in_dialog_shows_the_api_error_then_signs_in(
    services: Services, qtbot: object
) -> None:
    services.view.sign_in_requested.emit()
    qtbot.waitUntil(lambda: bool(open_windows(SignInDialog)), timeout=2000)
    dialog = open_windows(SignInDialog)[0]
    fields = {field.objectName(): field for field in dialog.findChildren(QLineEdit)}
    fields["api_id"].setText("1000001")
    fields["user"].setText("demo")
    fields["password"].setText("wrong")
    sign_in = next(b for b in dialog.findChildren(QPushButton) if b.text() == "Sign in")
    sign_in.click()
    qtbot.waitUntil(lambda: services.keeper.snapshot.state is State.FAILED, timeout=5000)
    qtbot.waitUntil(lambda: "ERR 001" in dialog.findChild(QLabel, "error").text(), timeout=2000)
    fields["password"].setText("demo")
    sign_in.click()
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog), timeout=5000)
    assert services.keeper.snapshot.state is State.ACTIVE
    assert services.keeper.account == ("1000001", "demo")


def test_show_yourself_opens_the_status_window_when_the_icon_has_no_place(
    services: Services, qtbot: object
) -> None:
    """On SNI hosts the icon's geometry is empty: a menu popped there would land nowhere."""
    services.view.show()
    assert services.view.tray.geometry().isEmpty()
    assert services.windows.show()
    qtbot.waitUntil(lambda: bool(open_windows(StatusWindow)), timeout=2000)
    window = open_windows(StatusWindow)[0]
    assert not window.explanation.isVisible()
    assert not services.view.menu.isVisible()
    assert "Copy session ID" in window.buttons


def test_a_copy_that_needs_a_window_is_made_by_the_window_button(
    services: Services, qtbot: object
) -> None:
    services.keeper.start()
    qtbot.waitUntil(lambda: services.keeper.snapshot.state is State.ACTIVE, timeout=5000)
    session_id = services.keeper.snapshot.session_id
    assert session_id
    from tray_app.ui.tray import PendingCopy

    pending = PendingCopy(session_id, "Session ID copied", "masked", True)
    services.view.copy_needs_window.emit(pending, "Click Copy in the window that opened.")
    window = services.windows.window
    assert window is not None and window.isVisible()
    assert window.copy_button.isVisible()
    assert window.note.text() == "Click Copy in the window that opened."
    QApplication.clipboard().setText("something else")
    window.copy_button.click()
    assert QApplication.clipboard().text() == session_id
    assert window.note.text() == "Session ID copied."
