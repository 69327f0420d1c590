"""``clickatell-tray install-desktop-entry``: a real process writes a launcher that works."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from tray_app.resources import DESKTOP_ENTRY, ICON_SIZES

from tests.test_packaging import require_tool
from tray_app import APP_ID
from tray_app.services.autostart import desktop_entry_values


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    return subprocess.run(
        [sys.executable, "-m", "tray_app", "install-desktop-entry", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_install_writes_a_valid_entry_with_an_absolute_exec_and_the_icons(
    tmp_path: Path,
) -> None:
    result = cli(tmp_path)
    assert result.returncode == 0, result.stderr
    entry = tmp_path / "data" / "applications" / DESKTOP_ENTRY
    assert str(entry) in result.stdout
    validate = require_tool("desktop-file-validate", "desktop-file-utils")
    checked = subprocess.run([validate, str(entry)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    values = desktop_entry_values(entry.read_text(encoding="utf-8"))
    program = shlex.split(values["Exec"])[0]
    assert os.path.isabs(program), values["Exec"]
    assert os.access(program, os.X_OK), program
    assert "TryExec" not in values
    hicolor = tmp_path / "data" / "icons" / "hicolor"
    for size in ICON_SIZES:
        assert (hicolor / f"{size}x{size}" / "apps" / f"{APP_ID}.png").is_file()
    assert (hicolor / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    assert values["Icon"] == APP_ID


def test_the_installed_exec_starts_this_app(tmp_path: Path) -> None:
    assert cli(tmp_path).returncode == 0
    entry = tmp_path / "data" / "applications" / DESKTOP_ENTRY
    command = shlex.split(desktop_entry_values(entry.read_text(encoding="utf-8"))["Exec"])
    started = subprocess.run(
        [*command, "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert started.returncode == 0, started.stderr
    assert "clickatell-tray" in started.stdout


def test_uninstall_removes_everything_it_installed(tmp_path: Path) -> None:
    assert cli(tmp_path).returncode == 0
    removed = cli(tmp_path, "--uninstall")
    assert removed.returncode == 0, removed.stderr
    assert "removed the desktop entry" in removed.stdout
    left = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert all(p.name.endswith(".cache") for p in left), left  # only the desktops' caches
    again = cli(tmp_path, "--uninstall")
    assert again.returncode == 0
    assert again.stdout.strip() == "nothing to remove: the desktop entry is not installed"


def test_an_unwritable_data_folder_is_one_line_and_exit_1(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("a file where the folder should be")
    result = cli(tmp_path)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("clickatell-tray: Cannot write")
