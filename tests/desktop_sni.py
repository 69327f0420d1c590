"""Fixtures for the StatusNotifierItem desktops: xfce4-panel on X11, sway + waybar and GNOME
Shell with the AppIndicator extension on Wayland.

Loaded as a pytest plugin by conftest.py. Each stack has a bus, a HOME and a display of its
own, apart from the trayer stack of ``desktop_stack``: a StatusNotifierWatcher on the trayer
stack's bus would turn its XEmbed tests into SNI ones. A missing tool skips, or fails under
CLICKATELL_TRAY_REQUIRE_DESKTOP=1, as everywhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from desktop_services import child_env, start_session_bus, start_xvfb, stop
from desktop_stack import (
    Desktop,
    _failing_the_test,
    _stop_pid,
    make_sandbox,
    require_files,
    require_tools,
)
from gnome_stack import APPINDICATOR, GnomeDesktop, running_gnome_shell
from panel_services import has_owner, start_dunst, start_xfce4_panel
from sni_client import connection_pid
from wayland_stack import WaylandDesktop, running_sway


@pytest.fixture(scope="session")
def sni_x11_desktop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desktop]:
    """Xvfb with xfce4-panel (an SNI host) across the top and dunst, on a bus of its own."""
    require_tools("dbus-daemon", "Xvfb", "xfce4-panel", "dunst", "dunstctl", "xdotool")
    root = tmp_path_factory.mktemp("sni-x11")
    sandbox = make_sandbox(root)
    started = []
    try:
        with _failing_the_test():
            bus, address = start_session_bus(child_env(sandbox.overrides), root / "dbus.log")
            started.append(bus)
            xvfb, display = start_xvfb(child_env(sandbox.overrides), root / "xvfb.log")
            started.append(xvfb)
            overrides = {
                **sandbox.overrides,
                "DBUS_SESSION_BUS_ADDRESS": address,
                "DISPLAY": display,
                "QT_QPA_PLATFORM": "xcb",
            }
            env = child_env(overrides)
            config_home = sandbox.home / ".config"
            started.append(start_xfce4_panel(env, config_home, root / "panel.log"))
            started.append(start_dunst(env, root / "dunst.log"))
        yield Desktop(overrides=overrides, display=display, bus_address=address, home=sandbox.home)
    finally:
        activated = _activated_pids(address) if started else []
        for process in reversed(started):
            stop(process)
        for pid in activated:  # xfconfd, started by the bus for the panel, outlives it
            _stop_pid(pid)


def _activated_pids(address: str) -> list[int]:
    """Services the bus started on demand (they are nobody's child, so nobody stops them)."""
    pids = []
    for name in ("org.xfce.Xfconf",):
        try:
            if has_owner(address, name):
                pids.append(connection_pid(address, name))
        except Exception:  # the bus is already gone: nothing left to find
            continue
    return pids


@pytest.fixture(scope="session")
def wayland_desktop() -> Iterator[WaylandDesktop]:
    """Headless sway with waybar (an SNI host), Xwayland and dunst, on a bus of its own."""
    require_tools(
        *("dbus-daemon", "sway", "swaymsg", "waybar", "dunst", "dunstctl", "Xwayland"),
        *("grim", "wl-paste", "wl-copy", "xhost"),
    )
    if os.getuid() == 0:
        require_tools("setpriv")
    with _failing_the_test(), running_sway() as desktop:
        yield desktop


@pytest.fixture(scope="module")
def gnome_desktop() -> Iterator[GnomeDesktop]:
    """Headless GNOME Shell (Wayland) with the AppIndicator extension, on buses of its own.

    Module scope: the shell is stopped once its tests are done, not left running for the
    rest of the suite.
    """
    require_tools("dbus-daemon", "gnome-shell", "gjs")
    require_files(
        "gnome-shell-extension-appindicator",
        Path("/usr/share/gnome-shell/extensions", APPINDICATOR),
    )
    if os.getuid() == 0:
        require_tools("setpriv")
    with _failing_the_test(), running_gnome_shell() as desktop:
        yield desktop
