"""End to end on Wayland: headless sway, waybar's tray, Xwayland, dunst.

``clickatell-tray --demo`` runs natively (``QT_QPA_PLATFORM=wayland``) and under XWayland
(``xcb``). The test sees the bar through grim, clicks with a virtual pointer, clicks menu
entries through DBusMenu as waybar does, reads the clipboard with wl-paste (through the
compositor, as any other program would) and notifications from dunst. With data control
hidden from the app it must not claim a copy until a click in its own window made one.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
import requests
from desktop_checks import colour_pixels, dunst_summaries
from panel_services import PANEL_HEIGHT
from processes import DemoRun, running_demo, wait_until
from PySide6.QtGui import QImage
from sni_client import (
    assert_idle_after_menu,
    assert_menu_ping_renews_once,
    assert_second_launch_asks_to_show,
    registered_item,
)
from wayland_pointer import VirtualPointer
from wayland_stack import HEIGHT, WIDTH, WaylandDesktop

from tray_app import APP_NAME
from tray_app.ui.clipboard import PASSWORD_HINT
from tray_app.ui.data_control import HIDE_VARIABLE
from tray_app.ui.icons import GREEN

CLEAR_AFTER = 3
COPIED = "Session ID copied"
SENTINEL = "sentinel put there by the test"


def wl_paste(env: dict[str, str], *args: str) -> str:
    """The clipboard as another Wayland client reads it; "" when it is empty."""
    return subprocess.run(
        ["wl-paste", "--no-newline", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    ).stdout


def bar_shot(env: dict[str, str], name: str) -> QImage:
    path = Path(env["HOME"]) / f"{name}.png"
    subprocess.run(["grim", "-g", f"0,0 {WIDTH}x{PANEL_HEIGHT}", str(path)], env=env, check=True)
    image = QImage(str(path))
    assert not image.isNull()
    return image


def green_icon_at(env: dict[str, str], name: str) -> tuple[int, int]:
    box = (0, 0, WIDTH, PANEL_HEIGHT)
    wait_until(
        "a green icon in waybar", lambda: len(colour_pixels(bar_shot(env, name), box, GREEN)) > 20
    )
    green = colour_pixels(bar_shot(env, name), box, GREEN)
    return sum(x for x, _ in green) // len(green), sum(y for _, y in green) // len(green)


def app_windows(desktop: WaylandDesktop, env: dict[str, str]) -> list[dict[str, object]]:
    """sway's views titled like the app: (x, y, width, height) of their content."""
    tree = json.loads(
        subprocess.run(
            ["swaymsg", "-s", str(desktop.swaysock), "-t", "get_tree"],
            env=env,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout
    )
    found, nodes = [], [tree]
    while nodes:
        node = nodes.pop()
        nodes.extend(node.get("nodes", []) + node.get("floating_nodes", []))
        if node.get("name") == APP_NAME and node.get("pid"):
            found.append(node)
    return found


@pytest.fixture
def pointer(wayland_desktop: WaylandDesktop) -> Iterator[VirtualPointer]:
    device = VirtualPointer(wayland_desktop.socket, WIDTH, HEIGHT)
    yield device
    device.close()


def start_demo(env: dict[str, str], tmp_path: Path) -> AbstractContextManager[DemoRun]:
    subprocess.run(["wl-copy", SENTINEL], env=env, check=True, timeout=5)
    wait_until("the sentinel on the clipboard", lambda: wl_paste(env) == SENTINEL)
    return running_demo([sys.executable, "-m", "tray_app"], env, tmp_path)


@pytest.mark.parametrize("platform", ["wayland", "xcb"])
def test_sway_waybar_copies_through_data_control(
    wayland_desktop: WaylandDesktop, pointer: VirtualPointer, tmp_path: Path, platform: str
) -> None:
    desktop = wayland_desktop
    env = {**desktop.env(platform), "CLICKATELL_TRAY_DEMO_CLEAR_AFTER": str(CLEAR_AFTER)}
    summaries_before = len(dunst_summaries(env))
    with start_demo(env, tmp_path) as demo:
        item = registered_item(desktop.bus_address, demo)
        assert item.layout()[0][1] == "Copy session ID", item.layout()
        x, y = green_icon_at(env, f"waybar-{platform}")

        pointer.click(x, y)
        wait_until("the ID on the Wayland clipboard", lambda: len(wl_paste(env)) == 32)
        session_id, types = wl_paste(env), wl_paste(env, "--list-types").split()
        hint = wl_paste(env, "--type", PASSWORD_HINT)
        assert re.fullmatch(r"[0-9a-f]{32}", session_id)
        assert PASSWORD_HINT in types and hint == "secret"
        ping = requests.post(f"{demo.base_url}/http/ping", data={"session_id": session_id})
        assert ping.text.startswith("OK"), "the copied ID is not the live session"
        wait_until("the auto-clear", lambda: wl_paste(env) != session_id, timeout=CLEAR_AFTER + 5)
        assert wl_paste(env) == ""

        subprocess.run(["wl-copy", SENTINEL], env=env, check=True, timeout=5)
        item.click("Copy session ID")
        wait_until("the menu's copy", lambda: wl_paste(env) == session_id)
        assert COPIED in dunst_summaries(env)[summaries_before:]

        assert_menu_ping_renews_once(item, demo.base_url, env, summaries_before)
        assert_second_launch_asks_to_show(env)
        wait_until("the status window on screen", lambda: bool(app_windows(desktop, env)))

        assert_idle_after_menu(item, demo.process.pid)


def test_without_data_control_only_the_window_copies_and_only_then_says_so(
    wayland_desktop: WaylandDesktop, pointer: VirtualPointer, tmp_path: Path
) -> None:
    """GNOME's case, staged on sway: the app must not claim a copy the compositor refused."""
    desktop = wayland_desktop
    env = {**desktop.env("wayland"), HIDE_VARIABLE: "1"}
    summaries_before = len(dunst_summaries(env))
    with start_demo(env, tmp_path) as demo:
        registered_item(desktop.bus_address, demo)
        x, y = green_icon_at(env, "waybar-no-data-control")

        pointer.click(x, y)
        wait_until("the status window offering the copy", lambda: bool(app_windows(desktop, env)))
        time.sleep(0.5)  # time enough for a wrong "copied" to arrive
        assert wl_paste(env) == SENTINEL
        assert COPIED not in dunst_summaries(env)[summaries_before:]

        window = app_windows(desktop, env)[0]
        rect, content = window["rect"], window["window_rect"]
        assert isinstance(rect, dict) and isinstance(content, dict)
        left, top = rect["x"] + content["x"], rect["y"] + content["y"]
        pointer.click(left + content["width"] // 2, top + 24)  # the Copy button, on top
        wait_until("the window's copy", lambda: len(wl_paste(env)) == 32)
        ping = requests.post(f"{demo.base_url}/http/ping", data={"session_id": wl_paste(env)})
        assert ping.text.startswith("OK")
        wait_until("the confirmation", lambda: COPIED in dunst_summaries(env)[summaries_before:])
