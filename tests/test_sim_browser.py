"""The inbox page in a real browser: Debian's headless chromium against ``simulate``.

After a curl ``sendmsg``, the page chromium renders (its DOM after loading the stylesheet)
shows the message under its recipient with its status, and a screenshot of it is a real
picture. Chromium runs with a throw-away profile and HOME, no D-Bus and no display, so it
touches nothing of the desktop it runs on; the only address it reaches is the simulator's.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from desktop_stack import require_tools
from processes import SimulatorProcess

from tray_app.core.demo import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER

CREDENTIALS = f"api_id={DEMO_API_ID}&user={DEMO_USER}&password={DEMO_PASSWORD}"
WIDTH, HEIGHT = 1100, 700


def chromium(url: str, home: Path, *args: str) -> str:
    """Run headless chromium once on ``url`` with a private profile; its standard output."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
    }
    command = [
        "chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-extensions",
        f"--user-data-dir={home / 'profile'}",
        f"--window-size={WIDTH},{HEIGHT}",
        *args,
        url,
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def curl(*args: str) -> str:
    return subprocess.run(
        ["curl", "-sS", "--max-time", "10", *args], capture_output=True, text=True, check=True
    ).stdout


def test_chromium_shows_a_sent_message_under_its_recipient(tmp_path: Path) -> None:
    require_tools("chromium", "curl")
    server = SimulatorProcess()
    try:
        # deliv_time keeps the status still (011) however long chromium takes to start.
        sent = curl(
            "--data",
            f"{CREDENTIALS}&to=27820000123&text=Your+code+is+4711&from=Acme&deliv_time=30",
            f"{server.base_url}/http/sendmsg",
        )
        assert re.fullmatch(r"ID: [0-9a-f]{32}\n", sent)
        dom = chromium(f"{server.base_url}/sim/", tmp_path, "--dump-dom")
        screenshot = tmp_path / "inbox.png"
        chromium(f"{server.base_url}/sim/", tmp_path, f"--screenshot={screenshot}")
    finally:
        server.stop()
    phone = re.search(r'<section class="phone" aria-label="Phone 27820000123">(.*?)</section>', dom)
    assert phone, dom[:2000]
    assert "Your code is 4711" in phone.group(1)
    assert "from Acme" in phone.group(1)
    assert "Status 011 Message queued for later delivery" in phone.group(1)
    assert "<title>Simulator inbox</title>" in dom
    assert_real_picture(screenshot)


def assert_real_picture(path: Path) -> None:
    """The screenshot has the window's size and more than a blank page's colours."""
    from PySide6.QtGui import QImage

    image = QImage(str(path))
    assert not image.isNull(), "chromium wrote no PNG"
    assert (image.width(), image.height()) == (WIDTH, HEIGHT)
    colours = {image.pixel(x, y) for x in range(0, WIDTH, 7) for y in range(0, HEIGHT, 7)}
    assert len(colours) > 20, "a blank or single-colour page"
