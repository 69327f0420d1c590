"""What the real-desktop tests look at: screenshots, pixel colours, the clipboard, dunst.

Shared by the XEmbed (trayer), StatusNotifierItem and Wayland tests, which all watch the app
from outside, as a person with a mouse would.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from PySide6.QtGui import QColor, QImage

_SCREENSHOTS = os.environ.get("CLICKATELL_TRAY_SCREENSHOTS")
SCREENSHOT_DIR = Path(_SCREENSHOTS) if _SCREENSHOTS else None
"""Where to keep the screenshots (the README's picture comes from one); else the test's HOME."""


def run(command: list[str], env: dict[str, str], timeout: float = 10) -> str:
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=timeout, check=True
    ).stdout


def screenshot(env: dict[str, str], name: str) -> QImage:
    folder = SCREENSHOT_DIR or Path(env["HOME"])
    path = folder / f"{name}.png"
    run(["import", "-window", "root", str(path)], env)
    image = QImage(str(path))
    assert not image.isNull()
    return image


def colour_pixels(
    image: QImage, box: tuple[int, int, int, int], colour: str
) -> list[tuple[int, int]]:
    """Pixels in the box within a small distance of the colour."""
    target = QColor(colour)
    x0, y0, width, height = box
    found = []
    for y in range(y0, y0 + height):
        for x in range(x0, x0 + width):
            pixel = image.pixelColor(x, y)
            distance = (
                abs(pixel.red() - target.red())
                + abs(pixel.green() - target.green())
                + abs(pixel.blue() - target.blue())
            )
            if distance < 40:
                found.append((x, y))
    return found


def clipboard(env: dict[str, str], *target: str) -> str:
    """The clipboard as another X client reads it (``TARGETS`` lists the formats offered)."""
    return subprocess.run(
        ["xclip", "-o", "-selection", "clipboard", *(("-t", *target) if target else ())],
        env=env,
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    ).stdout


def dunst_total(env: dict[str, str]) -> int:
    """Notifications waiting, on screen and in history: every one that reached dunst."""
    output = run(["dunstctl", "count"], env)
    return sum(int(number) for number in re.findall(r":\s*(\d+)", output))


def dunst_summaries(env: dict[str, str]) -> list[str]:
    """The summary of every notification that reached dunst, oldest first.

    Closes those on screen first: dunst lists a notification in its history once closed.
    """
    import json

    run(["dunstctl", "close-all"], env)
    history = json.loads(run(["dunstctl", "history"], env))
    entries = history["data"][0] if history.get("data") else []
    return [entry["summary"]["data"] for entry in sorted(entries, key=lambda e: e["id"]["data"])]
