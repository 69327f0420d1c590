"""End to end on GNOME Shell 43 (headless, Wayland) with the AppIndicator extension.

``clickatell-tray --demo`` runs natively (``QT_QPA_PLATFORM=wayland``). The test asks the
shell itself what it shows (``Eval`` on the top bar, the message tray and the clipboard),
sees the top bar through the shell's ``ScreenshotArea`` and clicks with the shell's own
virtual pointer, so every click goes where a person's would. Mutter offers no data-control
protocol: the menu's Copy must open the app's window rather than claim a copy, and only the
click on that window's Copy button may put the ID on the clipboard.

Qt's title bar drawn by the app (Mutter draws none for Wayland clients) has a height the
shell does not report, so the test switches it off (``QT_WAYLAND_DISABLE_WINDOWDECORATION``):
the window's frame is then the widget, whose top row is the Copy button, as on sway.
"""

from __future__ import annotations

import itertools
import re
import sys
import time
from pathlib import Path

import requests
from desktop_checks import colour_pixels
from gnome_stack import GnomeDesktop
from processes import running_demo, wait_until
from PySide6.QtGui import QImage
from sni_client import registered_item

from tray_app import APP_ID, APP_NAME
from tray_app.ui.icons import GREEN

COPIED = "Session ID copied"
SENTINEL = "sentinel put there by the test"
_reads = itertools.count(1)


def indicator(key: str) -> str:
    """The JS expression for the indicator's actor in the top bar."""
    return f"imports.ui.main.panel.statusArea[{key!r}]"


def clipboard(desktop: GnomeDesktop) -> str | None:
    """The CLIPBOARD text as the shell holds it (St reads it asynchronously, so poll)."""
    token = next(_reads)
    desktop.eval(
        "const St = imports.gi.St;"
        "St.Clipboard.get_default().get_text(St.ClipboardType.CLIPBOARD,"
        f" (_c, text) => {{ globalThis.testClipboard = [{token}, text]; }});"
    )
    found: list[str | None] = []

    def answered() -> bool:
        value = desktop.eval_json("globalThis.testClipboard ?? null")
        if isinstance(value, list) and value[0] == token:
            found.append(value[1])
            return True
        return False

    wait_until("the shell's clipboard answer", answered, timeout=5)
    return found[0]


def notification_titles(desktop: GnomeDesktop) -> list[str]:
    """Every notification in GNOME's message tray, as (source title: notification title)."""
    titles = desktop.eval_json(
        "imports.ui.main.messageTray.getSources()"
        ".flatMap(s => s.notifications.map(n => `${s.title}: ${n.title}`))"
    )
    assert isinstance(titles, list)
    return [str(title) for title in titles]


def app_windows(desktop: GnomeDesktop) -> list[list[int]]:
    """The app's windows on screen as [x, y, width, height, focused] (Mutter's frames)."""
    windows = desktop.eval_json(
        "global.get_window_actors().map(a => a.meta_window)"
        f".filter(w => w.get_title() === {APP_NAME!r} && w.showing_on_its_workspace())"
        ".map(w => { const r = w.get_frame_rect();"
        " return [r.x, r.y, r.width, r.height, w.has_focus() ? 1 : 0]; })"
    )
    assert isinstance(windows, list)
    return windows


def centre(desktop: GnomeDesktop, actor: str) -> tuple[float, float, int, int]:
    """An actor's centre on screen and its size."""
    x, y, width, height = desktop.eval_json(
        f"(a => [...a.get_transformed_position(), ...a.get_transformed_size()])({actor})"
    )
    return x + width / 2, y + height / 2, round(width), round(height)


def test_gnome_appindicator_menu_copy_goes_through_the_window(
    gnome_desktop: GnomeDesktop, tmp_path: Path
) -> None:
    desktop = gnome_desktop
    desktop.eval(
        "imports.gi.St.Clipboard.get_default()"
        f".set_text(imports.gi.St.ClipboardType.CLIPBOARD, {SENTINEL!r})"
    )
    wait_until("the sentinel on the clipboard", lambda: clipboard(desktop) == SENTINEL)
    env = {**desktop.env(), "QT_WAYLAND_DISABLE_WINDOWDECORATION": "1"}
    with running_demo([sys.executable, "-m", "tray_app"], env, tmp_path) as demo:
        # (a) the item registers with the extension's StatusNotifierWatcher
        item = registered_item(desktop.bus_address, demo)
        assert item.layout()[0][1] == "Copy session ID", item.layout()

        # (b) the extension puts it in the top bar, and it is drawn green
        key = f"appindicator-{item.bus_name}@{item.path}"
        wait_until(
            "the indicator in the top bar",
            lambda: desktop.eval_json(f"!!{indicator(key)}?.visible && {indicator(key)}.mapped"),
        )
        x, y, width, height = centre(desktop, indicator(key))
        bar_height = round(float(desktop.eval("imports.ui.main.panel.height")))
        box = (int(x - width / 2), int(y - height / 2), width, height)

        def green_in_bar() -> bool:
            shot = QImage(str(desktop.screenshot_area(0, 0, 1280, bar_height, "top-bar")))
            return len(colour_pixels(shot, box, GREEN)) > 20

        wait_until("a green icon where the indicator is", green_in_bar)

        # (c) a left click opens the menu (no Activate), "Copy session ID" first
        desktop.click(x, y)
        menu = f"{indicator(key)}.menu"
        wait_until("the indicator's menu open", lambda: desktop.eval_json(f"{menu}.isOpen"))
        first = f"{menu}._getMenuItems()[0]"
        wait_until(
            "the menu's first row filled in",
            lambda: desktop.eval_json(f"{first}.label?.text") == "Copy session ID",
        )

        # (d) choosing it opens the window instead of claiming a copy Mutter would refuse
        item_x, item_y, _w, _h = centre(desktop, first)
        desktop.click(item_x, item_y)
        wait_until("the status window offering the copy", lambda: bool(app_windows(desktop)))
        time.sleep(0.5)  # time enough for a wrong "copied" to arrive
        assert clipboard(desktop) == SENTINEL
        assert not [t for t in notification_titles(desktop) if t.endswith(COPIED)]

        left, top, window_width, _height, _focused = app_windows(desktop)[0]
        desktop.click(left + window_width / 2, top + 24)  # the Copy button, on top
        wait_until(
            "the window's copy on the clipboard",
            lambda: re.fullmatch(r"[0-9a-f]{32}", clipboard(desktop) or "") is not None,
        )
        session_id = clipboard(desktop)
        ping = requests.post(
            f"{demo.base_url}/http/ping", data={"session_id": session_id}, timeout=5
        )
        assert ping.text.startswith("OK"), "the copied ID is not the live session"

        # (e) the confirmation reaches GNOME's message tray, in the app's own source (GNOME
        # names it after the desktop-entry hint: with no .desktop file installed, the app ID)
        wait_until(
            "the confirmation in the message tray",
            lambda: f"{APP_ID}: {COPIED}" in notification_titles(desktop),
            timeout=10,
        )
