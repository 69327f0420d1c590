"""On a real X server with no tray host: the app says so, keeps going, and docks when a panel comes.

Login sessions start panels late (or, on GNOME without the AppIndicator extension,
never); the app must neither run invisible nor give up on a tray that comes later.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from desktop_services import start_trayer, start_xvfb, stop
from desktop_stack import Sandbox, child_env, require_tools
from processes import SHOWN_TIMEOUT, LineReader


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
    env = {**bare_display, "CLICKATELL_TRAY_REPORT_SHOWN": "1"}
    app = subprocess.Popen(
        [sys.executable, "-m", "tray_app", "--demo"],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert app.stdout is not None
    assert app.stderr is not None
    out, err = LineReader(app.stdout), LineReader(app.stderr)
    trayer = None
    try:
        out.wait_for("demo: simulator at ", SHOWN_TIMEOUT)
        assert "no system tray yet" in err.wait_for("Clickatell Session Tray: no system", 10)
        assert not any(line.startswith("tray-shown") for line in out.drain())
        trayer = start_trayer(bare_display, tmp_path / "trayer.log")
        out.wait_for("tray-shown ", SHOWN_TIMEOUT)
    finally:
        app.send_signal(signal.SIGTERM)
        code = app.wait(timeout=15)
        if trayer is not None:
            stop(trayer)
    assert code == 0
    assert "Traceback" not in err.rest()
