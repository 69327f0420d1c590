"""Takes the README's screenshot from a real run: Xvfb, trayer, the demo, its menu open.

    .venv/bin/python -m tests.screenshot packaging/screenshots/tray-menu.png

Everything runs on a display, a session bus and folders of its own (the recipe of
``shared/desktop-ci.md``, through :mod:`tests.desktop_services`), so the developer's desktop
is never touched. The picture is cropped to what a person sees: the panel with the icon and
the menu that a right click opened under it, on a plain desktop colour.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.desktop_services import child_env, start_session_bus, start_trayer, start_xvfb, stop

DESKTOP_COLOUR = "#4a6b8a"
MARGIN = 16


def _wait_for_line(process: subprocess.Popen[str], prefix: str, seconds: float) -> None:
    assert process.stdout is not None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith(prefix):
            return
        if not line and process.poll() is not None:
            raise RuntimeError(f"the demo exited with {process.returncode}")
    raise RuntimeError(f"no {prefix!r} line within {seconds} s")


def _panel_click_point(env: dict[str, str]) -> tuple[int, int]:
    """Near the icon's lower edge, so that the menu opens under the icon, not over it."""
    window = subprocess.run(
        ["xdotool", "search", "--name", "^panel$"], env=env, capture_output=True, text=True
    ).stdout.split()[0]
    shape = subprocess.run(
        ["xdotool", "getwindowgeometry", "--shell", window],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    values = dict(line.split("=", 1) for line in shape.split())
    x, y, w, h = (int(values[k]) for k in ("X", "Y", "WIDTH", "HEIGHT"))
    return x + w // 2, y + h - 2


def take(out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="clickatell-shot-") as folder:
        work = Path(folder)
        processes: list[subprocess.Popen[bytes] | subprocess.Popen[str]] = []
        try:
            xvfb, display = start_xvfb(child_env({}), work / "xvfb.log")
            processes.append(xvfb)
            bus, address = start_session_bus(child_env({}), work / "dbus.log")
            processes.append(bus)
            overrides = {
                "DISPLAY": display,
                "DBUS_SESSION_BUS_ADDRESS": address,
                "QT_QPA_PLATFORM": "xcb",
                "HOME": str(work / "home"),
                "XDG_CONFIG_HOME": str(work / "config"),
                "XDG_STATE_HOME": str(work / "state"),
                "XDG_CACHE_HOME": str(work / "cache"),
            }
            os.environ.update(overrides)
            from PySide6.QtGui import QColor, QImage
            from PySide6.QtWidgets import QApplication, QWidget

            app = QApplication([])
            desktop = QWidget()
            desktop.setStyleSheet(f"background: {DESKTOP_COLOUR};")
            desktop.setGeometry(app.primaryScreen().geometry())
            desktop.show()
            app.processEvents()
            processes.append(start_trayer(child_env(overrides), work / "trayer.log"))
            demo = subprocess.Popen(
                [sys.executable, "-m", "tray_app", "--demo"],
                env=child_env({**overrides, "CLICKATELL_TRAY_REPORT_SHOWN": "1"}),
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            processes.append(demo)
            _wait_for_line(demo, "tray-shown", 20)
            time.sleep(3)  # signed in, balance fetched
            x, y = _panel_click_point(child_env(overrides))
            env = child_env(overrides)
            subprocess.run(["xdotool", "mousemove", str(x), str(y), "click", "3"], env=env)
            subprocess.run(["xdotool", "mousemove", "40", "700"], env=env)  # off the menu
            time.sleep(1.5)
            app.processEvents()
            shot: QImage = app.primaryScreen().grabWindow(0).toImage()
            background = QColor(DESKTOP_COLOUR).rgb()
            left, top, right, bottom = shot.width(), shot.height(), 0, 0
            for row in range(0, shot.height(), 2):
                for column in range(0, shot.width(), 2):
                    if shot.pixel(column, row) != background:
                        left, right = min(left, column), max(right, column)
                        top, bottom = min(top, row), max(bottom, row)
            left, top = max(0, left - MARGIN), max(0, top - MARGIN)
            right, bottom = min(shot.width(), right + MARGIN), min(shot.height(), bottom + MARGIN)
            cropped = shot.copy(left, top, right - left, bottom - top)
            out.parent.mkdir(parents=True, exist_ok=True)
            if not cropped.save(str(out)):
                raise RuntimeError(f"could not write {out}")
            print(f"{out}: {cropped.width()}x{cropped.height()}")
        finally:
            for process in reversed(processes):
                stop(process)  # type: ignore[arg-type]


if __name__ == "__main__":
    take(Path(sys.argv[1] if len(sys.argv) > 1 else "packaging/screenshots/tray-menu.png"))
