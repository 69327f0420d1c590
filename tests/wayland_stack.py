"""A headless Wayland desktop: sway with waybar's tray, Xwayland and dunst, on a private bus.

The recipe is shared/desktop-ci-wayland.md. sway refuses to run as root, so as root the
compositor and what it starts (waybar, dunst, Xwayland) run as ``nobody`` through ``setpriv``;
the app and the test's tools stay with the caller, reaching the compositor through the
socket's absolute path and the private bus through a bus config that lets both users in
(Xwayland is opened to the caller with ``xhost +si:localuser:``, as its own user would).
Everything lives in one throw-away folder under /tmp (``nobody`` cannot enter pytest's
0700 temporary folders), removed at the end. Plain functions with no pytest in them.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

try:
    from desktop_services import (
        ServiceError,
        child_env,
        start_logged,
        stop,
        succeeds,
        wait_until_ready,
    )
    from panel_services import PANEL_HEIGHT, sni_host_ready
except ImportError:  # imported as tests.wayland_stack by the benchmark
    from tests.desktop_services import (
        ServiceError,
        child_env,
        start_logged,
        stop,
        succeeds,
        wait_until_ready,
    )
    from tests.panel_services import PANEL_HEIGHT, sni_host_ready

WIDTH, HEIGHT = 1280, 800
STACK_USER = "nobody"

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <include>/usr/share/dbus-1/session.conf</include>
  <policy context="default"><allow user="{user}"/></policy>
</busconfig>
"""
WAYBAR_CONFIG = {
    "layer": "top",
    "position": "top",
    "height": PANEL_HEIGHT,
    "modules-left": [],
    "modules-center": [],
    "modules-right": ["tray"],
    "tray": {"icon-size": 24, "spacing": 4},
}
WAYBAR_STYLE = "window#waybar { background: #f4f4f4; color: #202020; }\n"


@dataclass(frozen=True)
class WaylandDesktop:
    """The running stack: how the app and the tools reach it."""

    socket: Path
    swaysock: Path
    x_display: str
    bus_address: str
    app_overrides: dict[str, str]
    """HOME, XDG_* (the caller's own, apart from the compositor's), WAYLAND_DISPLAY, bus."""

    def env(self, platform: str) -> dict[str, str]:
        """A complete environment for the app and the tools; ``platform`` "wayland" or "xcb"."""
        overrides = {**self.app_overrides, "QT_QPA_PLATFORM": platform}
        if platform == "xcb":
            overrides["DISPLAY"] = self.x_display
        return child_env(overrides)


def _as_stack_user() -> list[str]:
    """The prefix that runs a command as the compositor's user (none unless we are root)."""
    if os.getuid() != 0:
        return []
    return ["setpriv", f"--reuid={STACK_USER}", "--regid=nogroup", "--clear-groups", "--"]


def _own(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    for folder, _dirs, files in os.walk(path):
        os.chown(folder, entry.pw_uid, entry.pw_gid)
        for name in files:
            os.chown(os.path.join(folder, name), entry.pw_uid, entry.pw_gid)


def user_dirs(home: Path, runtime: Path) -> dict[str, str]:
    """HOME and the XDG folders of a throw-away user: the app's, apart from the desktop's."""
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_RUNTIME_DIR": str(runtime),
    }


def start_bus(root: Path, name: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """A private dbus-daemon with ``root``/bus.conf (both users let in) and its address."""
    log_path = root / f"{name}.log"
    with log_path.open("wb") as log:
        bus = subprocess.Popen(
            [
                *("dbus-daemon", f"--config-file={root / 'bus.conf'}"),
                *("--nofork", "--nopidfile", "--print-address=1"),
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
        )
    assert bus.stdout is not None
    address = bus.stdout.readline().decode().strip()
    if not address:
        stop(bus)
        raise ServiceError(f"{name}: dbus-daemon printed no address", log_path)
    return bus, address


def _sway_config(home: Path, caller: str, as_other_user: bool) -> str:
    xhost = f"xhost +si:localuser:{caller} >/dev/null; " if as_other_user else ""
    return (
        f"output HEADLESS-1 resolution {WIDTH}x{HEIGHT}\n"
        "xwayland enable\n"
        "exec waybar\n"
        "exec dunst\n"
        f'exec sh -c \'{xhost}echo "$DISPLAY" > {home}/xdisplay.tmp && '
        f"mv {home}/xdisplay.tmp {home}/xdisplay'\n"
    )


@contextlib.contextmanager
def running_sway() -> Iterator[WaylandDesktop]:
    """sway + waybar + dunst + Xwayland, up and hosting SNI items; all stopped on leaving."""
    # Not under TMPDIR: the test run's own folder there is 0700, closed to the compositor's user.
    root = Path(tempfile.mkdtemp(prefix="clickatell-wayland-", dir="/tmp"))
    root.chmod(0o755)
    caller = getpass.getuser()
    as_other_user = os.getuid() == 0
    processes: list[subprocess.Popen[bytes]] = []
    try:
        sway_home, sway_run = root / "sway-home", root / "sway-run"
        app_home, app_run = root / "app-home", root / "app-run"
        for folder in (sway_home / ".config" / "waybar", sway_run, app_home, app_run):
            folder.mkdir(parents=True)
        (sway_home / ".config" / "waybar" / "config").write_text(json.dumps(WAYBAR_CONFIG))
        (sway_home / ".config" / "waybar" / "style.css").write_text(WAYBAR_STYLE)
        (sway_home / "sway.conf").write_text(_sway_config(sway_home, caller, as_other_user))
        (root / "bus.conf").write_text(BUS_CONFIG.format(user=STACK_USER))
        if as_other_user:
            _own(sway_home, STACK_USER)
            _own(sway_run, STACK_USER)
        sway_run.chmod(0o700)
        app_run.chmod(0o700)

        bus, address = start_bus(root, "dbus", child_env({"HOME": str(app_home)}))
        processes.append(bus)

        sway_env = child_env(
            {
                "HOME": str(sway_home),
                "XDG_CONFIG_HOME": str(sway_home / ".config"),
                "XDG_RUNTIME_DIR": str(sway_run),
                "DBUS_SESSION_BUS_ADDRESS": address,
                "WLR_BACKENDS": "headless",
                "WLR_RENDERER": "pixman",
                "WLR_LIBINPUT_NO_DEVICES": "1",
                "NO_AT_BRIDGE": "1",
            }
        )
        sway_log = root / "sway.log"
        sway = start_logged(
            [*_as_stack_user(), "sway", "-c", str(sway_home / "sway.conf")], sway_env, sway_log
        )
        processes.append(sway)
        xdisplay = sway_home / "xdisplay"
        wait_until_ready(
            "sway, waybar's tray and Xwayland",
            lambda: xdisplay.exists() and sni_host_ready(address),
            sway_log,
            sway,
        )
        sockets = [path for path in sway_run.glob("wayland-*") if path.suffix != ".lock"]
        swaysocks = list(sway_run.glob("sway-ipc.*.sock"))
        if not sockets or not swaysocks:
            raise ServiceError("sway made no Wayland or IPC socket", sway_log)
        app_overrides = {
            **user_dirs(app_home, app_run),
            "WAYLAND_DISPLAY": str(sockets[0]),
            "SWAYSOCK": str(swaysocks[0]),
            "DBUS_SESSION_BUS_ADDRESS": address,
            "XDG_SESSION_TYPE": "wayland",
        }
        desktop = WaylandDesktop(
            socket=sockets[0],
            swaysock=swaysocks[0],
            x_display=xdisplay.read_text().strip(),
            bus_address=address,
            app_overrides=app_overrides,
        )
        wait_until_ready(
            "dunst", lambda: succeeds(["dunstctl", "is-paused"], desktop.env("wayland")), sway_log
        )
        yield desktop
    finally:
        for process in reversed(processes):
            stop(process)
        shutil.rmtree(root, ignore_errors=True)
