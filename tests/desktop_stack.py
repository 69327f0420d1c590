"""Fixtures that start real desktop services for the tests that need them.

Loaded as a pytest plugin by conftest.py. The recipe is shared/desktop-ci.md: a private session
bus, gnome-keyring unlocked from stdin before anything can ask it for a prompt, Xvfb found
through -displayfd, trayer as the XEmbed tray host and dunst as the notification daemon. The
bus, Xvfb and trayer starters live in desktop_services, shared with the benchmark. All of it
lives in a throw-away HOME, so a test never sees the developer's keyring, config or desktop,
and every process is stopped at the end of the test session.

A missing tool skips the test with the apt-get line that installs it, except when
CLICKATELL_TRAY_REQUIRE_DESKTOP=1 (set by .ci/run): then it fails, so CI cannot pass by skipping.
Tests that use any of these fixtures get the ``desktop`` marker, so ``-m "not desktop"`` leaves
them out.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from desktop_services import (
    INHERITED_AWAY,
    STARTUP_TIMEOUT,  # noqa: F401 (re-exported for the tests that wait on a service)
    ServiceError,
    child_env,
    make_user_folders,
    start_secret_service,
    start_session_bus,
    start_trayer,
    start_xvfb,
    stop,
    stop_pid,
)
from panel_services import start_dunst

REQUIRE_DESKTOP = "CLICKATELL_TRAY_REQUIRE_DESKTOP"
KEYRING_PASSWORD = "desktop-stack-test-keyring"

# The Debian package that brings each tool, for the message that says what to install.
PACKAGES = {
    "dbus-daemon": "dbus",
    "dbus-monitor": "dbus-bin",
    "gnome-keyring-daemon": "gnome-keyring",
    "secret-tool": "libsecret-tools",
    "Xvfb": "xvfb",
    "trayer": "trayer",
    "xdotool": "xdotool",
    "xclip": "xclip",
    "xwininfo": "x11-utils",
    "import": "imagemagick",
    "dunst": "dunst",
    "dunstctl": "dunst",
    "notify-send": "libnotify-bin",
    "xfce4-panel": "xfce4-panel",
    "gdbus": "libglib2.0-bin",
    "sway": "sway",
    "swaymsg": "sway",
    "waybar": "waybar",
    "grim": "grim",
    "wl-paste": "wl-clipboard",
    "wl-copy": "wl-clipboard",
    "Xwayland": "xwayland",
    "setpriv": "util-linux",
    "unshare": "util-linux",
    "ip": "iproute2",
    "xhost": "x11-xserver-utils",
    "gnome-shell": "gnome-shell",
    "gjs": "gjs",
}

_FIXTURES = (
    "desktop_home",
    "session_bus",
    "secret_service",
    "keyring_env",
    "x_display",
    "tray_host",
    "notification_daemon",
    "desktop",
    "sni_x11_desktop",
    "wayland_desktop",
    "gnome_desktop",
)


def require_tools(*names: str) -> None:
    """Skip (or, under CLICKATELL_TRAY_REQUIRE_DESKTOP=1, fail) unless every tool is on PATH."""
    missing = [name for name in names if shutil.which(name) is None]
    if not missing:
        return
    packages = sorted({PACKAGES.get(name, name) for name in missing})
    _missing(f"{', '.join(missing)} not installed: apt-get install {' '.join(packages)}")


def require_files(package: str, *paths: Path) -> None:
    """As ``require_tools``, for what a package installs off PATH (a shell extension)."""
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        _missing(f"{', '.join(missing)} not installed: apt-get install {package}")


def _missing(message: str) -> None:
    if os.environ.get(REQUIRE_DESKTOP) == "1":
        pytest.fail(f"{message} ({REQUIRE_DESKTOP}=1 forbids skipping)", pytrace=False)
    pytest.skip(message)


@contextlib.contextmanager
def _failing_the_test() -> Iterator[None]:
    """A service that does not come up fails the test, with the tail of the service's log."""
    try:
        yield
    except ServiceError as exc:
        pytest.fail(str(exc))


@dataclass(frozen=True)
class Service:
    """A started service: what a child needs in its environment to reach it, and its process."""

    overrides: Mapping[str, str]
    pid: int

    @property
    def env(self) -> dict[str, str]:
        """A complete environment for ``subprocess`` that reaches this service."""
        return child_env(self.overrides)


@dataclass(frozen=True)
class Sandbox:
    """A throw-away HOME with its XDG folders."""

    home: Path
    overrides: Mapping[str, str]


@dataclass(frozen=True)
class SecretService(Service):
    """gnome-keyring serving org.freedesktop.secrets on the private bus, already unlocked."""

    home: Path


@dataclass(frozen=True)
class Desktop:
    """The whole stack: X display with a tray, notifications, keyring, bus, throw-away HOME."""

    overrides: Mapping[str, str]
    display: str
    bus_address: str
    home: Path

    @property
    def env(self) -> dict[str, str]:
        """A complete environment for ``subprocess``: QT_QPA_PLATFORM=xcb on the Xvfb display."""
        return child_env(self.overrides)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(name in _FIXTURES for name in getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.desktop)


# Stops a process that is not our child; the name stays for the modules that import it.
_stop_pid = stop_pid


def make_sandbox(root: Path) -> Sandbox:
    """A throw-away HOME with its XDG folders under ``root`` (the runtime folder mode 0700)."""
    overrides = make_user_folders(root)
    home = Path(overrides["HOME"])
    return Sandbox(home=home, overrides=overrides)


@pytest.fixture(scope="session")
def desktop_home(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    """Throw-away HOME and XDG folders: every service and child of the stack writes here."""
    return make_sandbox(tmp_path_factory.mktemp("desktop"))


@pytest.fixture(scope="session")
def session_bus(desktop_home: Sandbox) -> Iterator[Service]:
    """A private ``dbus-daemon --session``; overrides hold DBUS_SESSION_BUS_ADDRESS.

    The daemon runs in the throw-away HOME without DISPLAY: anything it activates on demand
    (gnome-keyring, dunst) stays in the sandbox and can never open a prompt that blocks.
    """
    require_tools("dbus-daemon")
    log = desktop_home.home.parent / "dbus-daemon.log"
    with _failing_the_test():
        process, address = start_session_bus(child_env(desktop_home.overrides), log)
    try:
        yield Service(overrides={"DBUS_SESSION_BUS_ADDRESS": address}, pid=process.pid)
    finally:
        stop(process)


@pytest.fixture(scope="session")
def secret_service(desktop_home: Sandbox, session_bus: Service) -> Iterator[SecretService]:
    """gnome-keyring, unlocked from stdin before its first use, on the private bus.

    Overrides hold the bus address and the throw-away HOME/XDG_*; use ``keyring_env`` to
    point this process's ``keyring`` at it.
    """
    require_tools("gnome-keyring-daemon")
    overrides = {**desktop_home.overrides, **session_bus.overrides}
    address = session_bus.overrides["DBUS_SESSION_BUS_ADDRESS"]
    with _failing_the_test():
        pid = start_secret_service(child_env(overrides), address, KEYRING_PASSWORD)
    try:
        yield SecretService(overrides=overrides, pid=pid, home=desktop_home.home)
    finally:
        _stop_pid(pid)


@pytest.fixture
def keyring_env(secret_service: SecretService, monkeypatch: pytest.MonkeyPatch) -> SecretService:
    """Point this process and its ``keyring`` at the throw-away Secret Service for one test.

    The environment and keyring's global backend are restored afterwards.
    """
    import keyring.core
    from keyring.backends import SecretService as secret_service_backend

    for key, value in secret_service.overrides.items():
        monkeypatch.setenv(key, value)
    for key in INHERITED_AWAY:
        if key not in secret_service.overrides:
            monkeypatch.delenv(key, raising=False)
    # keyring caches its backend in this module global; setattr puts back exactly what was there.
    monkeypatch.setattr(keyring.core, "_keyring_backend", secret_service_backend.Keyring())
    return secret_service


@pytest.fixture(scope="session")
def x_display(desktop_home: Sandbox) -> Iterator[Service]:
    """Xvfb at 1280x800x24 on a free display it picks itself; overrides hold DISPLAY."""
    require_tools("Xvfb")
    log = desktop_home.home.parent / "xvfb.log"
    with _failing_the_test():
        process, display = start_xvfb(child_env(desktop_home.overrides), log)
    try:
        yield Service(overrides={"DISPLAY": display}, pid=process.pid)
    finally:
        stop(process)


@pytest.fixture(scope="session")
def tray_host(desktop_home: Sandbox, x_display: Service) -> Iterator[Service]:
    """trayer, an XEmbed system tray, docked at the top right of the Xvfb screen."""
    require_tools("trayer", "xdotool")
    env = child_env({**desktop_home.overrides, **x_display.overrides})
    with _failing_the_test():
        process = start_trayer(env, desktop_home.home.parent / "trayer.log")
    try:
        yield Service(overrides=dict(x_display.overrides), pid=process.pid)
    finally:
        stop(process)


@pytest.fixture(scope="session")
def notification_daemon(
    desktop_home: Sandbox, session_bus: Service, x_display: Service
) -> Iterator[Service]:
    """dunst on the Xvfb display and the private bus; ``dunstctl count displayed`` counts."""
    require_tools("dunst", "dunstctl")
    overrides = {**desktop_home.overrides, **session_bus.overrides, **x_display.overrides}
    with _failing_the_test():
        process = start_dunst(child_env(overrides), desktop_home.home.parent / "dunst.log")
    try:
        yield Service(overrides=overrides, pid=process.pid)
    finally:
        stop(process)


@pytest.fixture(scope="session")
def desktop(
    desktop_home: Sandbox,
    session_bus: Service,
    secret_service: SecretService,
    x_display: Service,
    tray_host: Service,
    notification_daemon: Service,
) -> Desktop:
    """Everything at once, for running the app as a child process on a real desktop."""
    overrides = {
        **desktop_home.overrides,
        **session_bus.overrides,
        **x_display.overrides,
        "QT_QPA_PLATFORM": "xcb",
    }
    return Desktop(
        overrides=overrides,
        display=x_display.overrides["DISPLAY"],
        bus_address=session_bus.overrides["DBUS_SESSION_BUS_ADDRESS"],
        home=desktop_home.home,
    )
