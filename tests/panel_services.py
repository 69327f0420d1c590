"""StatusNotifierItem hosts and dunst, started the same way for the tests and the benchmark.

The recipe is shared/desktop-ci-wayland.md: xfce4-panel on an X display, with ``--disable-wm-check``
(else it waits 5 s for a window manager) and a one-panel layout in its xfconf XML (a separator
that expands, then the systray plugin, which hosts SNI items); ready once the watcher and a
host are on the bus. Plain functions with no pytest in them, like :mod:`desktop_services`.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

try:
    from desktop_services import (
        ServiceError,
        start_logged,
        stop,
        succeeds,
        wait_until_ready,
    )
except ImportError:  # imported as tests.panel_services by the benchmark
    from tests.desktop_services import (
        ServiceError,
        start_logged,
        stop,
        succeeds,
        wait_until_ready,
    )

WATCHER = "org.kde.StatusNotifierWatcher"
PANEL_HEIGHT = 32

XFCE_PANEL_XML = f"""<?xml version="1.0" encoding="UTF-8"?>
<channel name="xfce4-panel" version="1.0">
  <property name="configver" type="int" value="2"/>
  <property name="panels" type="array">
    <value type="int" value="1"/>
    <property name="panel-1" type="empty">
      <property name="position" type="string" value="p=6;x=0;y=0"/>
      <property name="length" type="uint" value="100"/>
      <property name="position-locked" type="bool" value="true"/>
      <property name="size" type="uint" value="{PANEL_HEIGHT}"/>
      <property name="icon-size" type="uint" value="24"/>
      <property name="plugin-ids" type="array">
        <value type="int" value="1"/>
        <value type="int" value="2"/>
      </property>
    </property>
  </property>
  <property name="plugins" type="empty">
    <property name="plugin-1" type="string" value="separator">
      <property name="expand" type="bool" value="true"/>
      <property name="style" type="uint" value="0"/>
    </property>
    <property name="plugin-2" type="string" value="systray"/>
  </property>
</channel>
"""


def bus_call(
    address: str,
    destination: str,
    path: str,
    interface: str,
    method: str,
    signature: str = "",
    body: tuple[object, ...] = (),
) -> tuple[object, ...]:
    """One blocking method call on the bus at ``address``; the reply's body."""
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    target = DBusAddress(path, destination, interface)
    with open_dbus_connection(address) as connection:
        reply = connection.send_and_get_reply(
            new_method_call(target, method, signature, body), timeout=5
        )
    if reply.header.message_type.name == "error":
        raise ServiceError(f"{interface}.{method}: {reply.body}")
    return tuple(reply.body)


def has_owner(address: str, name: str) -> bool:
    """Whether ``name`` is owned on the bus (asks the bus itself, never activates)."""
    body = bus_call(
        address,
        "org.freedesktop.DBus",
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus",
        "NameHasOwner",
        "s",
        (name,),
    )
    return bool(body[0])


def sni_host_ready(address: str) -> bool:
    """The watcher is up and a host has registered with it: items will be shown."""
    if not has_owner(address, WATCHER):
        return False
    body = bus_call(
        address,
        WATCHER,
        "/StatusNotifierWatcher",
        "org.freedesktop.DBus.Properties",
        "Get",
        "ss",
        (WATCHER, "IsStatusNotifierHostRegistered"),
    )
    return bool(body[0][1])


def start_xfce4_panel(
    env: Mapping[str, str], config_home: Path, log_path: Path
) -> subprocess.Popen[bytes]:
    """xfce4-panel across the top of the X display, hosting SNI items; once a host is up."""
    channel = config_home / "xfce4" / "xfconf" / "xfce-perchannel-xml"
    channel.mkdir(parents=True, exist_ok=True)
    (channel / "xfce4-panel.xml").write_text(XFCE_PANEL_XML)
    address = env["DBUS_SESSION_BUS_ADDRESS"]
    process = start_logged(["xfce4-panel", "--disable-wm-check"], env, log_path)
    try:
        wait_until_ready("xfce4-panel's tray", lambda: sni_host_ready(address), log_path, process)
    except BaseException:
        stop(process)
        raise
    return process


def start_dunst(env: Mapping[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """dunst on the display and bus in ``env``, once ``dunstctl`` gets an answer from it."""
    process = start_logged(["dunst"], env, log_path)
    try:
        wait_until_ready(
            "dunst", lambda: succeeds(["dunstctl", "is-paused"], env), log_path, process
        )
    except BaseException:
        stop(process)
        raise
    return process
