"""With no display the tray says so in one line and exits 1: a real process, no core dump."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.desktop_services import child_env
from tray_app.services.display import display_problem

AWAY = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "DBUS_SESSION_BUS_ADDRESS")


def run_tray(tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = child_env(
        {
            "HOME": str(tmp_path),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_RUNTIME_DIR": str(tmp_path / "run"),
            **extra,
        },
        (*AWAY, "XDG_RUNTIME_DIR"),
    )
    return subprocess.run(
        [sys.executable, "-m", "tray_app"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({}, "no display: neither DISPLAY nor WAYLAND_DISPLAY is set"),
        ({"DISPLAY": ":987"}, "cannot open the display ':987'"),
        ({"WAYLAND_DISPLAY": "wayland-9"}, "cannot open the Wayland display 'wayland-9'"),
    ],
    ids=["nothing set", "dead X display", "missing Wayland socket"],
)
def test_no_display_is_one_clear_line_and_exit_1(
    tmp_path: Path, extra: dict[str, str], words: str
) -> None:
    result = run_tray(tmp_path, **extra)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert words in lines[0]
    assert "libxcb" not in result.stderr and "core dumped" not in result.stderr
    assert result.stdout == ""


def test_a_platform_chosen_by_the_user_is_trusted() -> None:
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux") is None
    assert display_problem({}, "darwin") is None
