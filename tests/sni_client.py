"""The app's StatusNotifierItem as a panel sees it over D-Bus: found by PID, its menu clicked.

A panel learns of the item from the watcher's ``RegisteredStatusNotifierItems`` and draws the
menu from the item's DBusMenu export; these helpers do what the panel does, with jeepney on
the stack's private bus, so a test clicks the same menu entries a person clicks.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests
from desktop_checks import dunst_summaries
from panel_services import WATCHER, bus_call
from processes import DemoRun, wait_until

IDLE_SECONDS = 3.0
IDLE_CPU_TICKS = 5
"""At most 50 ms of CPU in the idle window. The bus watch is the exact check (a status line
that keeps ticking sends property updates); this one catches a busy loop or a fast timer.
A single wake-up's cost in ticks varies with the machine's load (2 ticks were seen on a busy
machine), so the bound leaves room for a few and none for a loop."""

RENEWED = "Session renewed with a new ID"

MINUTE_REDRAW = frozenset({"NewIcon", "NewToolTip"})
"""What the icon's once-a-minute redraw sends; the next one is a minute away."""

DBUS = ("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus")
MENU = "com.canonical.dbusmenu"


def connection_pid(address: str, name: str) -> int:
    return int(bus_call(address, *DBUS, "GetConnectionUnixProcessID", "s", (name,))[0])


def names_of(address: str, pid: int) -> set[str]:
    """Every unique bus name process ``pid`` holds (Qt keeps a connection for the tray icon)."""
    names = bus_call(address, *DBUS, "ListNames")[0]
    assert isinstance(names, list)
    found = set()
    for name in names:
        if name.startswith(":"):
            try:
                if connection_pid(address, name) == pid:
                    found.add(name)
            except Exception:  # the connection went away between the two calls
                continue
    return found


@dataclass(frozen=True)
class Item:
    """One registered StatusNotifierItem: its bus name, object path and menu's path."""

    address: str
    bus_name: str
    path: str
    menu_path: str

    def layout(self) -> list[tuple[int, str, bool]]:
        """The menu's entries as (id, label, enabled), separators left out, in order."""
        body = bus_call(
            self.address, self.bus_name, self.menu_path, MENU, "GetLayout", "iias", (0, -1, [])
        )
        _revision, (_id, _props, children) = body
        entries = []
        for _signature, (entry_id, props, _grandchildren) in children:
            if props.get("type", ("s", ""))[1] == "separator":
                continue
            label = props.get("label", ("s", ""))[1].replace("_", "")
            enabled = props.get("enabled", ("b", True))[1]
            entries.append((entry_id, label, enabled))
        return entries

    def entry(self, label: str) -> int:
        for entry_id, text, _enabled in self.layout():
            if text == label:
                return entry_id
        raise AssertionError(f"no {label!r} in the menu: {self.layout()}")

    def status(self) -> str:
        """The item's Status: "Active", or "NeedsAttention" while Qt shows a tray message."""
        body = bus_call(
            self.address,
            self.bus_name,
            self.path,
            "org.freedesktop.DBus.Properties",
            "Get",
            "ss",
            ("org.kde.StatusNotifierItem", "Status"),
        )
        return str(body[0][1])

    def open_menu(self) -> None:
        """What xfce4-panel and waybar do when the user opens the menu: AboutToShow, no close."""
        bus_call(self.address, self.bus_name, self.menu_path, MENU, "AboutToShow", "i", (0,))

    def click(self, label: str) -> None:
        """Open the menu and click ``label``, as the panel reports a click on an entry."""
        self.open_menu()
        bus_call(
            self.address,
            self.bus_name,
            self.menu_path,
            MENU,
            "Event",
            "isvu",
            (self.entry(label), "clicked", ("i", 0), int(time.time()) & 0xFFFFFFFF),
        )


def item_of(address: str, pid: int) -> Item | None:
    """The item process ``pid`` registered with the watcher, if any."""
    entries = bus_call(
        address,
        WATCHER,
        "/StatusNotifierWatcher",
        "org.freedesktop.DBus.Properties",
        "Get",
        "ss",
        (WATCHER, "RegisteredStatusNotifierItems"),
    )[0][1]
    for entry in entries:
        name, _, path = entry.replace("@/", "/").partition("/")
        if connection_pid(address, name) == pid:
            path = "/" + path
            menu = bus_call(
                address,
                name,
                path,
                "org.freedesktop.DBus.Properties",
                "Get",
                "ss",
                ("org.kde.StatusNotifierItem", "Menu"),
            )[0][1]
            if menu == "/NO_DBUSMENU":  # the early icon, shown before the menu is built
                return None
            return Item(address, name, path, str(menu))
    return None


def seconds_to_next_minute(status_line: str) -> float:
    """From "Session: active, expires in 14:37": when the icon's minute changes next."""
    match = re.search(r"expires in (\d+):(\d\d)", status_line)
    assert match, status_line
    left = int(match.group(1)) * 60 + int(match.group(2))
    return left % 60 + 1.0


def _sent_unasked(line: str, names: set[str]) -> bool:
    """Whether a dbus-monitor line is a signal or a method call sent by one of ``names``."""
    sender = re.search(r"sender=(\S+)", line)
    kind = line.split(" time=", 1)[0]
    return kind in ("signal", "method call") and sender is not None and sender.group(1) in names


@contextmanager
def bus_traffic(
    address: str, names: set[str], monitor_prefix: tuple[str, ...] = ()
) -> Iterator[list[str]]:
    """Every message from or to ``names`` while the block runs, as dbus-monitor prints them."""
    seen: list[str] = []
    process = subprocess.Popen(
        [*monitor_prefix, "dbus-monitor", "--address", address],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    stream = process.stdout
    stream.readline()  # its first line comes once it has become a monitor

    def pump() -> None:
        for line in stream:
            fields = dict(re.findall(r"(sender|destination)=(\S+)", line))
            if fields and ({fields.get("sender"), fields.get("destination")} & names):
                seen.append(line.strip())

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        yield seen
    finally:
        process.terminate()
        process.wait(timeout=5)
        reader.join(timeout=5)


def cpu_ticks(pid: int) -> int:
    """User plus system time of ``pid`` and its threads, in clock ticks (1/100 s)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def registered_item(address: str, demo: DemoRun) -> Item:
    """The demo's item, once the watcher lists it."""
    found: list[Item] = []

    def registered() -> bool:
        item = item_of(address, demo.process.pid)
        if item is not None:
            found.append(item)
        return item is not None

    wait_until("the app's item registered with the watcher", registered)
    return found[0]


def assert_idle_after_menu(item: Item, pid: int, monitor: tuple[str, ...] = ()) -> None:
    """Open the menu as xfce4-panel and waybar do (no close ever follows), then watch.

    No message sent by the app unasked on the bus (no signal, no call of its own) and no CPU
    tick over ``IDLE_SECONDS``, a window kept clear of the icon's once-a-minute redraw (if
    that redraw lands in it after all, and nothing else does, the next window is watched). A
    panel's own call and the app's answer to it do not count: a loaded panel may still be
    reading properties after a signal sent before the window opened. A tray message (the
    copy's "Session ID copied") puts Qt's item in "NeedsAttention" for the message's time
    and back after, so the watch starts once that has passed.
    """
    wait_until("the item's attention state to pass", lambda: item.status() == "Active")
    item.open_menu()
    status = next(label for _id, label, _on in item.layout() if label.startswith("Session:"))
    if seconds_to_next_minute(status) < IDLE_SECONDS + 2:
        time.sleep(seconds_to_next_minute(status) + 0.5)
    names = names_of(item.address, pid)
    for attempt in range(2):
        with bus_traffic(item.address, names, monitor) as seen:
            before = cpu_ticks(pid)
            time.sleep(IDLE_SECONDS)
            spent = cpu_ticks(pid) - before
        unprompted = [line for line in seen if _sent_unasked(line, names)]
        redraw = {m for line in unprompted for m in re.findall(r"member=(\w+)", line)}
        if attempt == 0 and unprompted and redraw <= MINUTE_REDRAW:
            continue  # the minute's redraw fell in the window after all: watch the next 3 s
        break
    assert unprompted == [], "D-Bus traffic with the menu closed:\n" + "\n".join(seen)
    assert spent <= IDLE_CPU_TICKS, (
        f"{spent * 10} ms of CPU in {IDLE_SECONDS:g} s with the menu closed"
    )


def assert_menu_ping_renews_once(
    item: Item, base_url: str, env: dict[str, str], summaries_before: int
) -> None:
    """The simulator drops the session, "Ping now" in the menu finds it gone: the app signs in
    again and says so in exactly one notification."""
    requests.post(f"{base_url}/sim/expire", timeout=5)
    item.click("Ping now")
    wait_until("the renewal", lambda: RENEWED in dunst_summaries(env)[summaries_before:])
    time.sleep(1.0)  # a second notification, if one were coming, would be here by now
    assert dunst_summaries(env)[summaries_before:].count(RENEWED) == 1


def assert_second_launch_asks_to_show(env: dict[str, str]) -> None:
    """A second ``--demo`` finds the running one, asks it to show itself and exits 0."""
    second = subprocess.run(
        [sys.executable, "-m", "tray_app", "--demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert second.returncode == 0, second.stderr
    assert "asked it to show itself" in second.stderr
