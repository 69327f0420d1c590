"""On a real X server with no tray host: the app says so, keeps going, and docks when a panel comes.

Login sessions start panels late (or, on GNOME without the AppIndicator extension,
never); the app must neither run invisible nor give up on a tray that comes later.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from desktop_services import start_trayer, start_xvfb, stop
from desktop_stack import Sandbox, child_env, require_tools
from processes import SHOWN_TIMEOUT, launch_demo
from processes import stop as stop_app


@pytest.fixture
def bare_display(desktop_home: Sandbox, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A display of this test's own, with no tray host on it (yet)."""
    require_tools("Xvfb", "trayer", "xdotool")
    xvfb, display = start_xvfb(child_env(desktop_home.overrides), tmp_path / "xvfb.log")
    try:
        yield child_env({**desktop_home.overrides, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"})
    finally:
        stop(xvfb)


def test_without_a_tray_it_waits_then_docks_when_a_panel_comes(
    bare_display: dict[str, str], tmp_path: Path
) -> None:
    app, out, err = launch_demo([sys.executable, "-m", "tray_app"], bare_display, tmp_path)
    trayer = None
    try:
        out.wait_for("demo: simulator at ", SHOWN_TIMEOUT)
        assert "no system tray yet" in err.wait_for("Clickatell Session Tray: no system", 10)
        assert not any(line.startswith("tray-shown") for line in out.drain())
        trayer = start_trayer(bare_display, tmp_path / "trayer.log")
        out.wait_for("tray-shown ", SHOWN_TIMEOUT)
    finally:
        code = stop_app(app)
        if trayer is not None:
            stop(trayer)
    assert code == 0
    assert "Traceback" not in err.rest()
