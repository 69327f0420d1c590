"""Xvfb with trayer as the tray host, started and stopped by the benchmark itself.

The recipe is the one in ``shared/desktop-ci.md``: Xvfb picks a free display through
``-displayfd``, trayer docks at the top right, and a private ``dbus-daemon`` stands in for
the desktop session's bus so that no child reaches the developer's own. When a tool is
missing, :func:`start_desktop` says which, and the benchmark falls back to offscreen.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

STARTUP_TIMEOUT = 10.0
TOOLS = ("Xvfb", "trayer", "xdotool")

# Variables that would point a child at the developer's own desktop, bus or keyring.
INHERITED_AWAY = (
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XAUTHORITY",
    "DBUS_SESSION_BUS_ADDRESS",
    "PYTHON_KEYRING_BACKEND",
    "GNOME_KEYRING_CONTROL",
    "SSH_AUTH_SOCK",
    "QT_QPA_PLATFORM",
    "QT_QPA_PLATFORMTHEME",
    "XDG_CURRENT_DESKTOP",
    "XDG_SESSION_TYPE",
    "CLICKATELL_BASE_URL",
)


class DesktopUnavailable(Exception):
    """Why a real X display with a tray host could not be started."""


@dataclass
class Desktop:
    """A running display: what a child needs in its environment, and the processes to stop."""

    overrides: dict[str, str]
    description: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)


def child_env(overrides: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without the developer's desktop, plus ``overrides``."""
    env = {key: value for key, value in os.environ.items() if key not in INHERITED_AWAY}
    env.update(overrides)
    return env


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


@contextlib.contextmanager
def start_desktop(workdir: Path) -> Iterator[Desktop]:
    """Xvfb, a private session bus (when dbus-daemon exists) and trayer, until the block ends."""
    missing = missing_tools()
    if missing:
        raise DesktopUnavailable(f"{', '.join(missing)} not installed")
    workdir.mkdir(parents=True, exist_ok=True)
    desktop = Desktop(overrides={}, description="xcb on Xvfb + trayer")
    try:
        display = _start_xvfb(workdir, desktop)
        desktop.overrides["DISPLAY"] = display
        if shutil.which("dbus-daemon"):
            desktop.overrides["DBUS_SESSION_BUS_ADDRESS"] = _start_bus(workdir, desktop)
            desktop.description += " + private D-Bus"
        _start_trayer(workdir, desktop)
        yield desktop
    finally:
        for process in reversed(desktop.processes):
            stop(process)


def _start_xvfb(workdir: Path, desktop: Desktop) -> str:
    read_end, write_end = os.pipe()
    with (workdir / "xvfb.log").open("wb") as log:
        process = subprocess.Popen(
            [
                *("Xvfb", "-displayfd", str(write_end)),
                *("-screen", "0", "1280x800x24", "-nolisten", "tcp"),
            ],
            env=child_env({}),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            pass_fds=(write_end,),
        )
    desktop.processes.append(process)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        readable, _, _ = select.select([pipe], [], [], STARTUP_TIMEOUT)
        number = pipe.readline().decode().strip() if readable else ""
    if not number.isdigit():
        raise DesktopUnavailable("Xvfb reported no display")
    return f":{number}"


def _start_bus(workdir: Path, desktop: Desktop) -> str:
    with (workdir / "dbus.log").open("wb") as log:
        process = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1"],
            env=child_env({}),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
        )
    desktop.processes.append(process)
    assert process.stdout is not None
    readable, _, _ = select.select([process.stdout], [], [], STARTUP_TIMEOUT)
    address = process.stdout.readline().decode().strip() if readable else ""
    if not address:
        raise DesktopUnavailable("dbus-daemon printed no address")
    return address


def _start_trayer(workdir: Path, desktop: Desktop) -> None:
    env = child_env(desktop.overrides)
    with (workdir / "trayer.log").open("wb") as log:
        process = subprocess.Popen(
            [
                *("trayer", "--edge", "top", "--align", "right", "--widthtype", "request"),
                *("--height", "40", "--SetDockType", "true", "--transparent", "false"),
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    desktop.processes.append(process)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    search = ["xdotool", "search", "--name", "^panel$"]
    while subprocess.run(search, env=env, capture_output=True, check=False).returncode != 0:
        if process.poll() is not None or time.monotonic() > deadline:
            raise DesktopUnavailable("trayer's panel window did not appear")
        time.sleep(0.05)


def stop(process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; always reaps the child."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for stream in (process.stdout, process.stderr, process.stdin):
        if stream is not None:
            stream.close()
