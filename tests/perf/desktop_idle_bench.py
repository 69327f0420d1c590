"""What the tray costs once its menu was opened on a StatusNotifierItem host, and closed.

xfce4-panel (on Xvfb) and waybar (on headless sway) draw the app's menu from its D-Bus export
and send ``AboutToShow`` when it opens, never a word when it closes. Here the demo runs on each,
the menu is opened as those panels open it, and then, over ``WINDOW`` seconds (60 in a
full run): every D-Bus message from or to the app (dbus-monitor on the stack's private bus) and
the app's CPU time. The icon's countdown redraws once a minute by design (a new icon and
tooltip, which the panel then reads); messages within a second and a half of that minute's
change are counted apart. Target: nothing else, and CPU below 0.1 %.

The stacks are the tests' own (``tests/panel_services.py``, ``tests/wayland_stack.py``); a
missing tool is a ``missing`` figure, never a crash.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from desktop_services import (
    ServiceError,
    child_env,
    start_session_bus,
    start_xvfb,
    stop,
)
from panel_services import start_xfce4_panel
from sni_client import (
    Item,
    bus_traffic,
    cpu_ticks,
    item_of,
    names_of,
    seconds_to_next_minute,
)
from wayland_stack import running_sway

from tests.perf.report import Row, fmt, verdict
from tests.perf.section import Plan, Result, progress

ROOT = Path(__file__).resolve().parents[2]
CPU_TARGET_PERCENT = 0.1
REDRAW_SLACK = 1.5
TICK_MS = 10
XFCE_TOOLS = ("Xvfb", "xfce4-panel", "dbus-daemon", "dbus-monitor")
SWAY_TOOLS = ("sway", "waybar", "Xwayland", "dbus-daemon", "dbus-monitor", "xhost")


@contextlib.contextmanager
def xfce_stack() -> Iterator[tuple[dict[str, str], str]]:
    """Xvfb + xfce4-panel on a private bus: the app's environment and the bus address."""
    root = Path(tempfile.mkdtemp(prefix="clickatell-xfce-bench-"))
    started: list[subprocess.Popen[bytes]] = []
    try:
        home, run = root / "home", root / "run"
        for folder in (home / ".config", run):
            folder.mkdir(parents=True)
        run.chmod(0o700)
        base = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
        base["XDG_RUNTIME_DIR"] = str(run)
        bus, address = start_session_bus(child_env(base), root / "dbus.log")
        started.append(bus)
        xvfb, display = start_xvfb(child_env(base), root / "xvfb.log")
        started.append(xvfb)
        env = child_env(
            {**base, "DBUS_SESSION_BUS_ADDRESS": address, "DISPLAY": display}
            | {"QT_QPA_PLATFORM": "xcb"}
        )
        started.append(start_xfce4_panel(env, home / ".config", root / "panel.log"))
        yield env, address
    finally:
        for process in reversed(started):
            stop(process)
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def waybar_stack() -> Iterator[tuple[dict[str, str], str]]:
    with running_sway() as desktop:
        yield desktop.env("wayland"), desktop.bus_address


def _wait(what: str, condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise ServiceError(f"{what} did not happen within {timeout:g} s")
        time.sleep(0.05)


def measure(env: dict[str, str], address: str, window: float) -> dict[str, Any]:
    """Start the demo, open its menu as the panel does, then watch the bus and the CPU."""
    demo = subprocess.Popen(
        [sys.executable, "-m", "tray_app", "--demo"],
        env={**env, "CLICKATELL_TRAY_REPORT_SHOWN": "1"},
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        found: list[Item] = []

        def registered() -> bool:
            item = item_of(address, demo.pid)
            found.extend([item] if item else [])
            return item is not None

        _wait("the demo's item", registered)
        item = found[0]

        def status() -> str:
            return next(text for _id, text, _on in item.layout() if text.startswith("Session:"))

        _wait("an active session", lambda: "active, expires in" in status())
        item.open_menu()
        line = status()
        redraw_at = time.monotonic() + seconds_to_next_minute(line) - 1.0
        names = names_of(address, demo.pid)
        with bus_traffic(address, names) as seen:
            stamps: list[float] = []
            before = cpu_ticks(demo.pid)
            started = time.monotonic()
            while (left := started + window - time.monotonic()) > 0:
                count = len(seen)
                time.sleep(min(left, 0.1))
                stamps += [time.monotonic()] * (len(seen) - count)
            spent = cpu_ticks(demo.pid) - before
        redraws = [redraw_at + 60 * n for n in range(int(window // 60) + 2)]
        at_redraw = sum(1 for t in stamps if any(abs(t - r) <= REDRAW_SLACK for r in redraws))
        members = sorted({m for line in seen for m in re.findall(r"member=(\w+)", line)})
        return {
            "window_s": window,
            "messages": len(seen),
            "messages_at_minute_redraw": at_redraw,
            "messages_otherwise": len(seen) - at_redraw,
            "members": members,
            "cpu_ms": spent * TICK_MS,
            "cpu_percent": spent * TICK_MS / (window * 1000) * 100,
        }
    finally:
        demo.terminate()
        try:
            demo.wait(timeout=15)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait()


WINDOW = 60.0
"""Seconds watched after the menu opened, in a full run (``--quick`` watches its own few)."""


def run(plan: Plan) -> Result:
    window = min(plan.cpu_window, WINDOW)  # the app's idle window is 10 minutes; not this
    result = Result()
    figures: dict[str, Any] = {}
    for name, tools, stack in (
        ("xfce4-panel", XFCE_TOOLS, xfce_stack),
        ("waybar", SWAY_TOOLS, waybar_stack),
    ):
        absent = [tool for tool in tools if shutil.which(tool) is None]
        if absent:
            why = f"idle after the menu on {name} not measured: {', '.join(absent)} missing"
            if os.environ.get("CLICKATELL_TRAY_REQUIRE_DESKTOP") == "1":
                result.missing.append(why)
            else:
                result.notes.append(why)
            continue
        progress(f"desktop idle: {name}, {window:g} s after the menu opened")
        try:
            with stack() as (env, address):
                figures[name] = measure(env, address, window)
        except ServiceError as exc:
            result.missing.append(f"idle after the menu on {name}: {exc.reason}")
            continue
        got = figures[name]
        key = name.split("-")[0]
        result.figures[f"menu_idle_{key}_dbus_messages"] = got["messages_otherwise"]
        result.figures[f"menu_idle_{key}_cpu_ms"] = got["cpu_ms"]
        result.rows += [
            Row(
                f"{name}: D-Bus messages {window:g} s after the menu",
                str(got["messages_otherwise"]),
                f"+{got['messages_at_minute_redraw']} at the minute's redraw",
                "",
                "0 besides the redraw",
                verdict(got["messages_otherwise"] == 0),
            ),
            Row(
                f"{name}: CPU {window:g} s after the menu",
                f"{got['cpu_ms']} ms ({fmt(got['cpu_percent'], 3, ' %')})",
                "",
                "",
                f"< {CPU_TARGET_PERCENT:g} %",
                verdict(got["cpu_percent"] < CPU_TARGET_PERCENT),
            ),
        ]
    result.details["desktop_idle"] = figures
    return result
