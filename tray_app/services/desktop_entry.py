"""Adds the app to the applications menu: the desktop entry and its icons, for this user only.

A venv's ``bin`` is not on a login session's PATH, so the entry's ``Exec`` is the absolute
command of the installed windowed program (the same one start at login uses, from
:mod:`tray_app.services.autostart`). Files go to ``$XDG_DATA_HOME`` (``~/.local/share``):
``applications/<id>.desktop`` and the icons under ``icons/hicolor``. The entry is checked
with ``desktop-file-validate`` where it is installed; one that fails is removed again, so the
menu never shows a broken launcher. The menu's caches are refreshed where their tools exist.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tray_app import APP_ID
from tray_app.resources import DESKTOP_ENTRY, ICON_SIZES, app_icon_path
from tray_app.services.autostart import (
    AutostartError,
    desktop_entry_text,
    program_command,
    write_atomically,
)

TOOL_TIMEOUT = 30.0


class DesktopEntryError(Exception):
    """The entry could not be installed or removed; the message says why in plain words."""


def data_home() -> Path:
    """``$XDG_DATA_HOME``, or ``~/.local/share`` when it is unset or not absolute."""
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if os.path.isabs(value) else Path.home() / ".local" / "share"


def entry_path() -> Path:
    return data_home() / "applications" / DESKTOP_ENTRY


def icon_paths() -> dict[Path, bytes]:
    """Where each shipped icon goes, with its bytes: one PNG per size, and the SVG."""
    hicolor = data_home() / "icons" / "hicolor"
    files = {
        hicolor / f"{size}x{size}" / "apps" / f"{APP_ID}.png": app_icon_path(size).read_bytes()
        for size in ICON_SIZES
    }
    files[hicolor / "scalable" / "apps" / f"{APP_ID}.svg"] = app_icon_path().read_bytes()
    return files


def install() -> list[Path]:
    """Write the entry and the icons; the paths written, the entry first."""
    entry = entry_path()
    written: list[Path] = []
    try:
        for path, data in icon_paths().items():
            write_atomically(path, data)
            written.append(path)
        write_atomically(entry, desktop_entry_text(program_command()).encode("utf-8"))
    except AutostartError as exc:
        raise DesktopEntryError(str(exc)) from None
    problem = _validation_problem(entry)
    if problem is not None:
        entry.unlink(missing_ok=True)
        raise DesktopEntryError(f"the desktop entry did not validate, so it was removed: {problem}")
    _refresh_caches()
    return [entry, *written]


def uninstall() -> list[Path]:
    """Remove the entry and the icons this app installed; the paths that were there."""
    removed: list[Path] = []
    for path in [entry_path(), *icon_paths()]:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise DesktopEntryError(f"cannot remove {path}: {exc.strerror or exc}") from None
        removed.append(path)
    if removed:
        _refresh_caches()
    return removed


def _validation_problem(entry: Path) -> str | None:
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        return None
    result = subprocess.run(
        [tool, str(entry)], capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False
    )
    if result.returncode == 0:
        return None
    lines = (result.stdout + result.stderr).strip().splitlines()
    return lines[0] if lines else f"desktop-file-validate exited with {result.returncode}"


def _refresh_caches() -> None:
    """Best effort: desktops that read these caches see the change at once, others anyway."""
    for command in (
        ["update-desktop-database", "-q", str(entry_path().parent)],
        ["gtk-update-icon-cache", "-q", "-t", str(data_home() / "icons" / "hicolor")],
    ):
        if shutil.which(command[0]) and entry_path().parent.exists():
            subprocess.run(
                command,
                capture_output=True,
                timeout=TOOL_TIMEOUT,
                check=False,
                stdin=subprocess.DEVNULL,
            )
