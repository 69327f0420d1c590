"""GNOME Shell 43 headless on Wayland, with the AppIndicator extension, on private buses.

The recipe is shared/desktop-ci-wayland.md ("GNOME Shell headless"). As with sway, the shell
refuses root, so as root it runs as ``nobody`` through ``setpriv`` and the app reaches it
by the socket's absolute path and the bus through a config letting both users in
(``wayland_stack``). This image has /run/systemd/seats, so the shell expects a system bus:
it gets a private one too. Settings go to GLib's keyfile backend in the shell's own HOME
(written before the start, so no dconf service outlives the stack). ``--no-x11``: the app
runs natively, the case GNOME users have; XWayland's copy is the plain X11 one that the
xfce4-panel tests already cover.

The shell answers ``Eval`` and ``Screenshot`` only in unsafe mode, which GNOME 43 has no
flag for: a tiny extension, installed for the test only, turns it on, hides the overview
the shell starts in, drops the "unsafe mode" notice, keeps notification banners off (the
shell's own would cover the app's window where the test clicks; notifications still reach
the message tray, where the test reads them) and adds a virtual pointer and keyboard (a
seat without a keyboard gives no window the keyboard focus, which the clipboard needs).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    from desktop_services import ServiceError, child_env, start_logged, stop, wait_until_ready
    from panel_services import WATCHER, bus_call, has_owner
    from wayland_stack import BUS_CONFIG, STACK_USER, _as_stack_user, _own, start_bus, user_dirs
except ImportError:  # imported as tests.gnome_stack
    from tests.desktop_services import ServiceError, child_env, start_logged, stop, wait_until_ready
    from tests.panel_services import WATCHER, bus_call, has_owner
    from tests.wayland_stack import (
        BUS_CONFIG,
        STACK_USER,
        _as_stack_user,
        _own,
        start_bus,
        user_dirs,
    )

WIDTH, HEIGHT = 1280, 800
APPINDICATOR = "ubuntu-appindicators@ubuntu.com"
TEST_EXTENSION = "clickatell-test-hooks@clickatell.test"
SHELL = ("org.gnome.Shell", "/org/gnome/Shell", "org.gnome.Shell")
SCREENSHOT = ("org.gnome.Shell.Screenshot", "/org/gnome/Shell/Screenshot")

SETTINGS = f"""[org/gnome/shell]
enabled-extensions=['{APPINDICATOR}', '{TEST_EXTENSION}']
disable-user-extensions=false
welcome-dialog-last-shown-version='999'

[org/gnome/desktop/interface]
enable-animations=false
"""

EXTENSION_JS = """
const { Clutter } = imports.gi;
const Main = imports.ui.main;
const MessageTray = imports.ui.messageTray;

function init() {}

function enable() {
    global.context.unsafe_mode = true;
    for (const source of Main.messageTray.getSources()) {
        if (source instanceof MessageTray.SystemNotificationSource)
            source.destroy();
    }
    // Banners stay off: GNOME's own ("Screen Lock disabled") land where the app's window
    // opens and would take the test's click. Notifications still reach the message tray.
    Main.messageTray.bannerBlocked = true;
    const seat = Clutter.get_default_backend().get_default_seat();
    globalThis.testPointer = seat.create_virtual_device(Clutter.InputDeviceType.POINTER_DEVICE);
    globalThis.testKeyboard = seat.create_virtual_device(Clutter.InputDeviceType.KEYBOARD_DEVICE);
    if (Main.layoutManager._startingUp)
        Main.layoutManager.connect('startup-complete', () => Main.overview.hide());
    else
        Main.overview.hide();
}

function disable() {
    globalThis.testPointer = null;
    globalThis.testKeyboard = null;
}
"""


@dataclass(frozen=True)
class GnomeDesktop:
    """The running shell: how the app and the test reach it."""

    socket: Path
    bus_address: str
    shots: Path
    """A folder the shell's user may write its screenshots to."""
    app_overrides: dict[str, str]

    def env(self) -> dict[str, str]:
        """A complete environment for the app on the shell's Wayland socket."""
        return child_env({**self.app_overrides, "QT_QPA_PLATFORM": "wayland"})

    def eval(self, code: str) -> str:
        """``code`` run in the shell (org.gnome.Shell.Eval); its JSON result, or raise."""
        ok, result = bus_call(self.bus_address, *SHELL, "Eval", "s", (code,))
        if not ok:
            raise ServiceError(f"Eval failed: {result}\n{code}")
        return str(result)

    def eval_json(self, code: str) -> Any:
        """The value of the expression ``code`` (the shell returns it as JSON)."""
        return json.loads(self.eval(code) or "null")

    def screenshot_area(self, x: int, y: int, width: int, height: int, name: str) -> Path:
        path = self.shots / f"{name}.png"
        ok, _written = bus_call(
            self.bus_address,
            *SCREENSHOT,
            SCREENSHOT[0],
            "ScreenshotArea",
            "iiiibs",
            (x, y, width, height, False, str(path)),
        )
        if not ok:
            raise ServiceError(f"ScreenshotArea failed for {path}")
        return path

    def click(self, x: float, y: float) -> None:
        """A left click with the virtual pointer; fresh time stamps, or it is a double click."""
        prefix = "const { Clutter, GLib } = imports.gi; const p = globalThis.testPointer;"
        self.eval(f"{prefix} p.notify_absolute_motion(GLib.get_monotonic_time(), {x}, {y});")
        for state in ("PRESSED", "RELEASED"):
            time.sleep(0.05)  # one event per frame, as a hand gives them
            self.eval(
                f"{prefix} p.notify_button(GLib.get_monotonic_time(),"
                f" Clutter.BUTTON_PRIMARY, Clutter.ButtonState.{state});"
            )


def _install_settings(home: Path) -> None:
    (home / ".config" / "glib-2.0" / "settings").mkdir(parents=True)
    (home / ".config" / "glib-2.0" / "settings" / "keyfile").write_text(SETTINGS)
    extension = home / ".local" / "share" / "gnome-shell" / "extensions" / TEST_EXTENSION
    extension.mkdir(parents=True)
    metadata = {
        "uuid": TEST_EXTENSION,
        "name": "Clickatell test hooks",
        "description": "Unsafe mode and virtual input devices for the tests",
        "shell-version": ["43"],
    }
    (extension / "metadata.json").write_text(json.dumps(metadata))
    (extension / "extension.js").write_text(EXTENSION_JS)


def _shell_ready(desktop: GnomeDesktop) -> bool:
    """The extension's watcher is up, the test hooks are in, the overview is hidden."""
    if not has_owner(desktop.bus_address, WATCHER):
        return False
    if not has_owner(desktop.bus_address, SHELL[0]):
        return False
    try:
        state = desktop.eval_json("!imports.ui.main.overview.visible && !!globalThis.testKeyboard")
    except ServiceError:  # not in unsafe mode yet
        return False
    return state is True


@contextlib.contextmanager
def running_gnome_shell() -> Iterator[GnomeDesktop]:
    """gnome-shell --headless --wayland with the AppIndicator extension; stopped on leaving."""
    root = Path(tempfile.mkdtemp(prefix="clickatell-gnome-", dir="/tmp"))
    root.chmod(0o755)
    as_other_user = os.getuid() == 0
    processes: list[subprocess.Popen[bytes]] = []
    try:
        shell_home, shell_run, shots = root / "shell-home", root / "shell-run", root / "shots"
        app_home, app_run = root / "app-home", root / "app-run"
        for folder in (shell_home, shell_run, shots, app_home, app_run):
            folder.mkdir()
        _install_settings(shell_home)
        (root / "bus.conf").write_text(BUS_CONFIG.format(user=STACK_USER))
        if as_other_user:
            for folder in (shell_home, shell_run, shots):
                _own(folder, STACK_USER)
        shell_run.chmod(0o700)
        app_run.chmod(0o700)

        bus_env = child_env({"HOME": str(app_home)})
        session, address = start_bus(root, "session-bus", bus_env)
        processes.append(session)
        system, system_address = start_bus(root, "system-bus", bus_env)
        processes.append(system)

        shell_env = child_env(
            {
                **user_dirs(shell_home, shell_run),
                "DBUS_SESSION_BUS_ADDRESS": address,
                "DBUS_SYSTEM_BUS_ADDRESS": system_address,
                "GSETTINGS_BACKEND": "keyfile",
                "XDG_SESSION_TYPE": "wayland",
                "XDG_CURRENT_DESKTOP": "GNOME",
                "NO_AT_BRIDGE": "1",
            }
        )
        shell_log = root / "gnome-shell.log"
        shell = start_logged(
            [
                *_as_stack_user(),
                *("gnome-shell", "--headless", "--wayland", "--no-x11"),
                *("--virtual-monitor", f"{WIDTH}x{HEIGHT}"),
            ],
            shell_env,
            shell_log,
        )
        processes.append(shell)
        socket = shell_run / "wayland-0"
        desktop = GnomeDesktop(
            socket=socket,
            bus_address=address,
            shots=shots,
            app_overrides={
                **user_dirs(app_home, app_run),
                "WAYLAND_DISPLAY": str(socket),
                "DBUS_SESSION_BUS_ADDRESS": address,
                "XDG_SESSION_TYPE": "wayland",
                "XDG_CURRENT_DESKTOP": "GNOME",
            },
        )
        wait_until_ready(
            "gnome-shell with the AppIndicator extension",
            lambda: _shell_ready(desktop),
            shell_log,
            shell,
        )
        yield desktop
    finally:
        for process in reversed(processes):
            stop(process)
        shutil.rmtree(root, ignore_errors=True)
