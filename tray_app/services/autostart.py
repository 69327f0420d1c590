"""Start the tray at login: an XDG autostart entry, a macOS LaunchAgent or a Windows Run value.

Every variant starts the app by an absolute command, because a login session
has no virtualenv on its PATH (maestral#904): the installed
``clickatell-tray-gui`` script next to the running interpreter, else
``python -m tray_app``, or the executable itself in a frozen build. The entry
is rewritten on every ``enable()``, so turning it on again repairs a path that
moved. Only the current user's settings are touched, never system-wide ones.

Paths are read at call time (``XDG_CONFIG_HOME``, ``HOME``) so tests can
redirect them. Every failure surfaces as :class:`AutostartError` with a
message fit for a dialog.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tray_app import APP_ID, APP_NAME
from tray_app.resources import DESKTOP_ENTRY, read_bytes

log = logging.getLogger(__name__)

GUI_SCRIPT = "clickatell-tray-gui"
# At login the app goes straight to the tray, without opening any window.
LOGIN_ARGS = ("--hidden",)
# Give the panel time to come up first, or the icon lands in a missing tray (maestral#369).
AUTOSTART_KEYS = (
    ("Hidden", "false"),
    ("X-GNOME-Autostart-enabled", "true"),
    ("X-GNOME-Autostart-Delay", "10"),
    ("X-KDE-autostart-after", "panel"),
)
WINDOWS_RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
# Task Manager's "Disable" lands here, not in the Run key, so both must be read.
WINDOWS_APPROVED_KEY = r"Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"

# Characters that force quoting in a desktop entry Exec argument (Desktop Entry spec, "Exec").
_EXEC_RESERVED = frozenset(" \t\n\"'\\><~|&;$*?#()`")


class AutostartError(Exception):
    """Start at login could not be read or changed; the message says why in plain words."""


def is_enabled() -> bool:
    """Whether this user's session will start the app at login."""
    platform = _platform()
    if platform == "win32":
        return _windows_is_enabled()
    path = _launch_agent_path() if platform == "darwin" else desktop_entry_path()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise AutostartError(f"Cannot read {path}: {exc.strerror or exc}") from exc
    if platform == "darwin":
        return True
    values = desktop_entry_values(data.decode("utf-8", errors="replace"))
    return (
        values.get("Hidden", "false") != "true"
        and values.get("X-GNOME-Autostart-enabled", "true") != "false"
    )


def enable() -> None:
    """Register the app to start at login, replacing any older entry."""
    command = launch_command()
    platform = _platform()
    if platform == "win32":
        _windows_enable(windows_command_line(command))
    elif platform == "darwin":
        write_atomically(_launch_agent_path(), launch_agent_plist(command))
    else:
        write_atomically(desktop_entry_path(), autostart_desktop_entry(command).encode("utf-8"))
    log.info("Start at login enabled: %s", " ".join(command))


def disable() -> None:
    """Stop starting the app at login; fine if it was not registered."""
    platform = _platform()
    if platform == "win32":
        _windows_disable()
    else:
        path = _launch_agent_path() if platform == "darwin" else desktop_entry_path()
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise AutostartError(f"Cannot remove {path}: {exc.strerror or exc}") from exc
    log.info("Start at login disabled")


def _platform() -> str:
    """One seam for the platform choice, so tests can exercise each branch."""
    return sys.platform


def launch_command() -> list[str]:
    """The absolute command that starts the tray at login, without a console window."""
    return [*_program(), *LOGIN_ARGS]


def program_command() -> list[str]:
    """The absolute command of the windowed program, as a launcher starts it."""
    return _program()


def _program() -> list[str]:
    """The windowed program: the frozen executable, the installed script or ``python -m``."""
    import sysconfig  # only when autostart is asked about: it reads the build's config files

    if getattr(sys, "frozen", False):
        # A frozen build ships both executables side by side; prefer the windowed one.
        executable = Path(sys.executable).absolute()
        sibling = executable.with_name(GUI_SCRIPT + executable.suffix)
        return [str(sibling if sibling.is_file() else executable)]
    suffix = ".exe" if os.name == "nt" else ""
    folders = [
        Path(sys.executable).absolute().parent,
        Path(sysconfig.get_path("scripts")),
        Path(sysconfig.get_path("scripts", sysconfig.get_preferred_scheme("user"))),
    ]
    for folder in folders:
        script = folder / (GUI_SCRIPT + suffix)
        if script.is_file():
            return [str(script)]
    interpreter = Path(sys.executable).absolute()
    windowed = interpreter.with_name("pythonw.exe")
    if os.name == "nt" and windowed.is_file():
        interpreter = windowed
    return [str(interpreter), "-m", "tray_app"]


# --- Linux and other XDG desktops -------------------------------------------------------------


def desktop_entry_path() -> Path:
    """``$XDG_CONFIG_HOME/autostart/<app id>.desktop``; a relative or empty value is ignored."""
    config_home = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(config_home) if os.path.isabs(config_home) else Path.home() / ".config"
    return base / "autostart" / DESKTOP_ENTRY


def desktop_exec(command: Sequence[str]) -> str:
    """Quote a command for an ``Exec`` key: argument quoting first, then string escaping."""
    words = []
    for arg in command:
        if arg and not _EXEC_RESERVED.intersection(arg):
            word = arg
        else:
            escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
            word = f'"{escaped}"'
        words.append(word.replace("%", "%%"))
    line = " ".join(words)
    for raw, escaped in (("\\", "\\\\"), ("\n", "\\n"), ("\t", "\\t"), ("\r", "\\r")):
        line = line.replace(raw, escaped)
    return line


def autostart_desktop_entry(command: Sequence[str]) -> str:
    """The shipped desktop entry with an absolute ``Exec`` and the autostart keys."""
    return desktop_entry_text(command, AUTOSTART_KEYS)


def desktop_entry_text(command: Sequence[str], extra: Sequence[tuple[str, str]] = ()) -> str:
    """The shipped desktop entry with ``Exec`` set to ``command`` (absolute) and ``extra`` keys.

    ``TryExec`` goes: with an absolute ``Exec`` it says nothing more, and a stale one hides
    the entry.
    """
    template = read_bytes(DESKTOP_ENTRY).decode("utf-8")
    drop = {"Exec", "TryExec", *(key for key, _ in extra)}
    lines: list[str] = []
    group = ""
    for line in template.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            group = stripped
        key = stripped.partition("=")[0].strip()
        if group == "[Desktop Entry]" and key in drop:
            if key == "Exec":
                lines.append(f"Exec={desktop_exec(command)}")
                lines.extend(f"{k}={v}" for k, v in extra)
            continue
        lines.append(line)
    return "\n".join(lines) + "\n"


def desktop_entry_values(text: str) -> dict[str, str]:
    """The raw key/value pairs of the ``[Desktop Entry]`` group (no unescaping)."""
    values: dict[str, str] = {}
    group = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("["):
            group = stripped
        elif group == "[Desktop Entry]" and "=" in stripped:
            key, _, value = stripped.partition("=")
            values[key.strip()] = value.strip()
    return values


# --- macOS -------------------------------------------------------------------------------------


def _launch_agent_path() -> Path:
    return Path.home() / "Library" / "LaunchAgents" / f"{APP_ID}.plist"


def launch_agent_plist(command: Sequence[str]) -> bytes:
    """A LaunchAgent that starts the app once per GUI login and leaves it alone after Quit."""
    import plistlib  # macOS only

    return plistlib.dumps(
        {
            "Label": APP_ID,
            "ProgramArguments": list(command),
            "RunAtLoad": True,
            "KeepAlive": False,
            "ProcessType": "Interactive",
            "LimitLoadToSessionType": "Aqua",
        }
    )


# --- Windows -----------------------------------------------------------------------------------


def windows_command_line(command: Sequence[str]) -> str:
    """A Run value: the program always quoted, so a path with spaces is never ambiguous."""
    program, *args = command
    line = f'"{program}"'
    return f"{line} {subprocess.list2cmdline(args)}" if args else line


def windows_approved(data: bytes | None) -> bool:
    """Read a StartupApproved value: missing or an even first byte means allowed to start."""
    return not data or data[0] % 2 == 0


def _winreg() -> Any:
    """``winreg``, loosely typed: on other platforms type checkers see an empty module."""
    import winreg

    return winreg


def _windows_is_enabled() -> bool:
    winreg = _winreg()

    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, WINDOWS_RUN_KEY) as key:
            winreg.QueryValueEx(key, APP_NAME)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise AutostartError(f"Cannot read the Windows start-up list: {exc}") from exc
    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, WINDOWS_APPROVED_KEY) as key:
            data, _ = winreg.QueryValueEx(key, APP_NAME)
    except OSError:
        return True
    return windows_approved(data if isinstance(data, bytes) else None)


def _windows_enable(command_line: str) -> None:
    winreg = _winreg()

    try:
        with winreg.CreateKeyEx(
            winreg.HKEY_CURRENT_USER, WINDOWS_RUN_KEY, 0, winreg.KEY_SET_VALUE
        ) as key:
            winreg.SetValueEx(key, APP_NAME, 0, winreg.REG_SZ, command_line)
    except OSError as exc:
        raise AutostartError(f"Cannot add the app to the Windows start-up list: {exc}") from exc
    _windows_forget_approval()


def _windows_disable() -> None:
    try:
        _windows_delete_value(WINDOWS_RUN_KEY)
    except OSError as exc:
        raise AutostartError(
            f"Cannot remove the app from the Windows start-up list: {exc}"
        ) from exc
    _windows_forget_approval()


def _windows_forget_approval() -> None:
    """Drop Task Manager's verdict, so that our own switch is the one that counts."""
    with contextlib.suppress(OSError):
        _windows_delete_value(WINDOWS_APPROVED_KEY)


def _windows_delete_value(key_path: str) -> None:
    """Delete the app's value under ``HKEY_CURRENT_USER\\key_path``; one already gone is fine."""
    winreg = _winreg()
    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key_path, 0, winreg.KEY_SET_VALUE) as key:
            winreg.DeleteValue(key, APP_NAME)
    except FileNotFoundError:
        pass


# --- shared ------------------------------------------------------------------------------------


def write_atomically(path: Path, data: bytes) -> None:
    """Write via a temporary file and a rename, so a crash never leaves half an entry behind."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            dir=path.parent, prefix=f".{path.name}.", delete=False
        ) as handle:
            handle.write(data)
        try:
            os.replace(handle.name, path)
        except OSError:
            os.unlink(handle.name)
            raise
    except OSError as exc:
        target = exc.filename or path
        raise AutostartError(f"Cannot write {target}: {exc.strerror or exc}") from exc
