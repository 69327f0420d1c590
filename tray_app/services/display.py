"""Can a display be opened? Asked before Qt is, because Qt's answer is an abort.

Without a display (over SSH, in a container) Qt's xcb plugin prints a hint about
``libxcb-cursor0`` and aborts with a core dump, and the real cause is never said. So the tray
looks first: a Wayland socket that exists, or an X server that accepts a connection on the
socket ``DISPLAY`` names. ``QT_QPA_PLATFORM`` set by the user (offscreen, vnc, …) is trusted
as it is. Only where Qt uses X11 or Wayland (Linux and the BSDs).
"""

from __future__ import annotations

import os
import re
import socket
import sys
from collections.abc import Mapping
from pathlib import Path

_DISPLAY = re.compile(r"^(?P<host>[^:]*):(?P<number>\d+)(?:\.\d+)?$")
CONNECT_TIMEOUT = 1.0


def display_problem(
    env: Mapping[str, str] | None = None, platform: str = sys.platform
) -> str | None:
    """Why no display can be opened, in one sentence; None when one can (or Qt was told)."""
    env = os.environ if env is None else env
    if platform.startswith(("win", "darwin", "cygwin")) or env.get("QT_QPA_PLATFORM"):
        return None
    wayland = env.get("WAYLAND_DISPLAY")
    if wayland and _wayland_socket(wayland, env.get("XDG_RUNTIME_DIR", "")).exists():
        return None
    display = env.get("DISPLAY")
    if display:
        if _x_server_answers(display):
            return None
        return f"cannot open the display {display!r}: no X server answers there"
    if wayland:
        return f"cannot open the Wayland display {wayland!r}: its socket does not exist"
    return "no display: neither DISPLAY nor WAYLAND_DISPLAY is set (is this an SSH session?)"


def _wayland_socket(name: str, runtime_dir: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() else Path(runtime_dir or "/nonexistent") / path


def _x_server_answers(display: str) -> bool:
    match = _DISPLAY.match(display)
    if match is None:
        return False
    host, number = match["host"], int(match["number"])
    if host in ("", "unix") or host.startswith("/"):
        path = host if host.startswith("/") else f"/tmp/.X11-unix/X{number}"
        # Linux X servers also listen on the abstract socket of the same name.
        return _connects(socket.AF_UNIX, path) or _connects(socket.AF_UNIX, "\0" + path)
    return _connects(socket.AF_INET, (host, 6000 + number))


def _connects(family: int, address: str | tuple[str, int]) -> bool:
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.settimeout(CONNECT_TIMEOUT)
            probe.connect(address)
        return True
    except (OSError, ValueError):
        return False
