"""Xvfb with trayer as the tray host, started and stopped by the benchmark itself.

The recipe is the one in ``shared/desktop-ci.md``, in :mod:`tests.desktop_services` (shared
with the tests' fixtures): Xvfb picks a free display through ``-displayfd``, trayer docks at
the top right, and a private ``dbus-daemon`` stands in for the desktop session's bus so that no
child reaches the developer's own. When a tool is missing, :func:`start_desktop` says which,
and the benchmark falls back to offscreen.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tests import desktop_services
from tests.desktop_services import ServiceError, start_session_bus, start_trayer, start_xvfb, stop

TOOLS = ("Xvfb", "trayer", "xdotool")

# The benchmark also sets the Qt platform and the API address of each child itself.
INHERITED_AWAY = (*desktop_services.INHERITED_AWAY, "QT_QPA_PLATFORM", "CLICKATELL_BASE_URL")


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
    return desktop_services.child_env(overrides, INHERITED_AWAY)


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
        _start_services(workdir, desktop)
        yield desktop
    finally:
        for process in reversed(desktop.processes):
            stop(process)


def _start_services(workdir: Path, desktop: Desktop) -> None:
    """Fill ``desktop`` one service at a time, so that start_desktop stops whatever did start.

    A service that does not come up is DesktopUnavailable: the benchmark runs offscreen instead.
    """
    try:
        xvfb, display = start_xvfb(child_env({}), workdir / "xvfb.log")
        desktop.processes.append(xvfb)
        desktop.overrides["DISPLAY"] = display
        if shutil.which("dbus-daemon"):
            bus, address = start_session_bus(child_env({}), workdir / "dbus.log")
            desktop.processes.append(bus)
            desktop.overrides["DBUS_SESSION_BUS_ADDRESS"] = address
            desktop.description += " + private D-Bus"
        trayer = start_trayer(child_env(desktop.overrides), workdir / "trayer.log")
        desktop.processes.append(trayer)
    except ServiceError as exc:
        raise DesktopUnavailable(exc.reason) from exc
