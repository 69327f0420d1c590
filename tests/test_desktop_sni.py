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
from pathlib import Path

import requests
from desktop_checks import clipboard, colour_pixels, dunst_summaries, run, screenshot
from desktop_stack import Desktop, require_tools
from panel_services import PANEL_HEIGHT
from processes import running_demo, wait_until
from sni_client import (
    assert_idle_after_menu,
    assert_menu_ping_renews_once,
    assert_second_launch_asks_to_show,
    registered_item,
)

from tray_app import APP_NAME
from tray_app.ui.icons import GREEN

CLEAR_AFTER = 3
COPIED = "Session ID copied"


def demo_env(desktop: Desktop) -> dict[str, str]:
    return {**desktop.env, "CLICKATELL_TRAY_DEMO_CLEAR_AFTER": str(CLEAR_AFTER)}


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

        assert_menu_ping_renews_once(item, demo.base_url, env, summaries_before)
        assert_second_launch_asks_to_show(env)
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
