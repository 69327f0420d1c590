"""End to end on a StatusNotifierItem host on X11: Xvfb, xfce4-panel, dunst.

``clickatell-tray --demo`` runs as a child process. The panel draws its icon and menu from the
app's D-Bus exports; the test looks at the panel by screenshot, clicks the icon with xdotool,
clicks menu entries with DBusMenu ``Event`` calls as the panel does, reads the clipboard with
xclip and the notifications from dunst, and watches the bus and the CPU once the menu closed.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import requests
from desktop_checks import clipboard, colour_pixels, dunst_summaries, run, screenshot
from desktop_stack import Desktop, require_tools
from panel_services import PANEL_HEIGHT
from processes import DemoRun, running_demo, wait_until
from sni_client import Item, bus_traffic, cpu_ticks, item_of, names_of, seconds_to_next_minute

from tray_app import APP_NAME
from tray_app.ui.icons import GREEN

CLEAR_AFTER = 3
IDLE_SECONDS = 3.0
COPIED = "Session ID copied"
RENEWED = "Session renewed with a new ID"


def demo_env(desktop: Desktop) -> dict[str, str]:
    return {**desktop.env, "CLICKATELL_TRAY_DEMO_CLEAR_AFTER": str(CLEAR_AFTER)}


def registered_item(address: str, demo: DemoRun) -> Item:
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

    No message from or to the app on the bus and no CPU tick over ``IDLE_SECONDS``, a window
    kept clear of the icon's once-a-minute redraw. A tray message (the copy's "Session ID
    copied") puts Qt's item in "NeedsAttention" for the message's time and back after, so
    the watch starts once that has passed.
    """
    wait_until("the item's attention state to pass", lambda: item.status() == "Active")
    item.open_menu()
    status = next(label for _id, label, _on in item.layout() if label.startswith("Session:"))
    if seconds_to_next_minute(status) < IDLE_SECONDS + 2:
        time.sleep(seconds_to_next_minute(status) + 0.5)
    names = names_of(item.address, pid)
    with bus_traffic(item.address, names, monitor) as seen:
        before = cpu_ticks(pid)
        time.sleep(IDLE_SECONDS)
        spent = cpu_ticks(pid) - before
    assert seen == [], "D-Bus traffic with the menu closed:\n" + "\n".join(seen)
    assert spent <= 1, f"{spent * 10} ms of CPU in {IDLE_SECONDS:g} s with the menu closed"


def test_xfce_panel_icon_copy_menu_notification_show_and_idle(
    sni_x11_desktop: Desktop, tmp_path: Path
) -> None:
    require_tools("xclip", "import", "xdotool", "dunstctl")
    desktop = sni_x11_desktop
    env = desktop.env
    summaries_before = len(dunst_summaries(env))
    with running_demo([sys.executable, "-m", "tray_app"], demo_env(desktop), tmp_path) as demo:
        item = registered_item(desktop.bus_address, demo)
        assert item.layout()[0][1] == "Copy session ID", item.layout()

        panel = (0, 0, 1280, PANEL_HEIGHT)
        wait_until(
            "a green icon in the panel",
            lambda: len(colour_pixels(screenshot(env, "xfce-active"), panel, GREEN)) > 20,
        )
        green = colour_pixels(screenshot(env, "xfce-active"), panel, GREEN)
        x = sum(px for px, _ in green) // len(green)
        y = sum(py for _, py in green) // len(green)

        run(["xdotool", "mousemove", str(x), str(y), "click", "1"], env)
        wait_until("the ID on the clipboard", lambda: len(clipboard(env).strip()) == 32)
        session_id, targets = clipboard(env).strip(), clipboard(env, "TARGETS")
        assert re.fullmatch(r"[0-9a-f]{32}", session_id)
        assert "x-kde-passwordManagerHint" in targets
        ping = requests.post(f"{demo.base_url}/http/ping", data={"session_id": session_id})
        assert ping.text.startswith("OK"), "the copied ID is not the live session"
        wait_until("the auto-clear", lambda: clipboard(env).strip() == "", timeout=CLEAR_AFTER + 5)

        item.click("Copy session ID")
        wait_until("the menu's copy", lambda: clipboard(env).strip() == session_id)
        assert COPIED in dunst_summaries(env)[summaries_before:]

        requests.post(f"{demo.base_url}/sim/expire", timeout=5)
        item.click("Ping now")
        wait_until("the renewal", lambda: RENEWED in dunst_summaries(env)[summaries_before:])
        time.sleep(1.0)  # a second notification, if one were coming, would be here by now
        assert dunst_summaries(env)[summaries_before:].count(RENEWED) == 1

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
        wait_until(
            "the status window on screen",
            lambda: (
                subprocess.run(
                    ["xdotool", "search", "--onlyvisible", "--name", f"^{APP_NAME}$"],
                    env=env,
                    capture_output=True,
                    check=False,
                ).returncode
                == 0
            ),
        )

        assert_idle_after_menu(item, demo.process.pid)
