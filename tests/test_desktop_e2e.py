"""End to end on a real desktop: Xvfb, the trayer tray host, dunst and gnome-keyring.

``clickatell-tray --demo`` runs as a child process on that desktop. The test
looks at the tray through screenshots, clicks it with xdotool, reads the
clipboard with xclip, steers the simulator through its control endpoints and
counts notifications with dunstctl, as a person with a mouse would see them.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from desktop_checks import clipboard, colour_pixels, dunst_total, run, screenshot
from desktop_stack import Desktop, require_tools
from processes import DemoRun, running_demo, wait_until

from tray_app.ui.icons import AMBER, GREEN


@pytest.fixture
def demo_app(desktop: Desktop, tmp_path: Path) -> Iterator[DemoRun]:
    require_tools("xdotool", "xclip", "import", "dunstctl")
    env = desktop.env
    run(["dunstctl", "close-all"], env)
    with running_demo([sys.executable, "-m", "tray_app"], env, tmp_path) as demo:
        yield demo


def panel_geometry(env: dict[str, str]) -> tuple[int, int, int, int]:
    window = run(["xdotool", "search", "--name", "^panel$"], env).split()[0]
    shell = run(["xdotool", "getwindowgeometry", "--shell", window], env)
    values = dict(re.findall(r"(\w+)=(\d+)", shell))
    return int(values["X"]), int(values["Y"]), int(values["WIDTH"]), int(values["HEIGHT"])


def test_demo_tray_copy_expiry_and_one_notification(desktop: Desktop, demo_app: DemoRun) -> None:
    env = desktop.env
    notified_before = dunst_total(env)
    panel = panel_geometry(env)
    wait_until(
        "a green icon in the panel",
        lambda: len(colour_pixels(screenshot(env, "tray-active"), panel, GREEN)) > 20,
    )
    green = colour_pixels(screenshot(env, "tray-active"), panel, GREEN)
    icon_x = sum(x for x, _ in green) // len(green)
    icon_y = sum(y for _, y in green) // len(green)

    run(["xdotool", "mousemove", str(icon_x), str(icon_y), "click", "1"], env)
    wait_until("the session ID on the clipboard", lambda: len(clipboard(env).strip()) == 32)
    first_id = clipboard(env).strip()
    assert re.fullmatch(r"[0-9a-f]{32}", first_id)
    ping = requests.post(f"{demo_app.base_url}/http/ping", data={"session_id": first_id}, timeout=5)
    assert ping.text.startswith("OK"), "the copied ID is not the live session"
    assert "x-kde-passwordManagerHint" in clipboard(env, "TARGETS")
    assert dunst_total(env) == notified_before

    requests.post(f"{demo_app.base_url}/sim/expire", timeout=5)
    requests.post(f"{demo_app.base_url}/sim/faults", data={"fault_rate": "1"}, timeout=5)
    run(["xdotool", "mousemove", str(icon_x), str(icon_y), "click", "3"], env)
    time.sleep(0.5)
    screenshot(env, "tray-menu")
    run(["xdotool", "key", "Down", "Down", "Down", "Return"], env)
    wait_until(
        "the icon to turn amber while the server fails",
        lambda: len(colour_pixels(screenshot(env, "tray-retrying"), panel, AMBER)) > 20,
    )
    requests.post(f"{demo_app.base_url}/sim/faults", data={"fault_rate": "0"}, timeout=15)
    wait_until("one notification", lambda: dunst_total(env) > notified_before, timeout=30)
    time.sleep(1.0)
    assert dunst_total(env) == notified_before + 1
    wait_until(
        "the icon to turn green again",
        lambda: len(colour_pixels(screenshot(env, "tray-renewed"), panel, GREEN)) > 20,
    )
    run(["xdotool", "mousemove", str(icon_x), str(icon_y), "click", "1"], env)
    wait_until(
        "the new ID on the clipboard",
        lambda: len(clipboard(env).strip()) == 32 and clipboard(env).strip() != first_id,
    )
    assert dunst_total(env) == notified_before + 1
