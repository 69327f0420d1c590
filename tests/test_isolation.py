"""The suite never reaches the session bus it inherits, and leaves no demo folder behind.

A nested pytest runs as if on a developer's desktop: its ``DBUS_SESSION_BUS_ADDRESS`` names a
bus of this test's own, watched by ``dbus-monitor``. It runs the in-process app tests (which
sign in with a wrong password, the old source of a real "Credentials rejected" notification)
and ``isolation_probe.py`` (a test that notifies and uses the keyring without asking for a
private bus). Nothing may reach the watched bus; a Notify sent to it afterwards shows that the
monitor would have seen one.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from desktop_services import child_env, start_session_bus, stop
from desktop_stack import require_tools

ROOT = Path(__file__).resolve().parent.parent
WATCHED = ("org.freedesktop.Notifications", "org.freedesktop.secrets")
NESTED = ["tests/test_app.py", "tests/isolation_probe.py"]


@pytest.fixture
def watched_bus(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A session bus standing in for the developer's, and the file its monitor writes."""
    require_tools("dbus-daemon", "dbus-monitor")
    bus, address = start_session_bus(child_env({"HOME": str(tmp_path)}), tmp_path / "bus.log")
    seen = tmp_path / "monitor.txt"
    with seen.open("wb") as out:
        monitor = subprocess.Popen(
            ["dbus-monitor", "--address", address],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(seen, "NameAcquired")
        yield address, seen
    finally:
        stop(monitor)
        stop(bus)


def wait_for(path: Path, text: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in path.read_text(errors="replace"):
        if time.monotonic() > deadline:
            pytest.fail(f"{text!r} never reached {path.name}")
        time.sleep(0.05)


def test_no_test_reaches_the_session_bus_it_inherits(
    watched_bus: tuple[str, Path], tmp_path: Path
) -> None:
    address, seen = watched_bus
    nested_tmp = tmp_path / "tmp"
    nested_tmp.mkdir()
    env = child_env(
        {"DBUS_SESSION_BUS_ADDRESS": address, "TMPDIR": str(nested_tmp)}, away=("DISPLAY",)
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *NESTED],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    monitored = seen.read_text(errors="replace")
    for name in WATCHED:
        assert name not in monitored, f"a test reached the inherited bus ({name})"
    assert list(nested_tmp.rglob("clickatell-tray-demo-*")) == []

    # The monitor would have seen it: a Notify aimed at that bus shows up.
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    notifications = DBusAddress(
        "/org/freedesktop/Notifications", WATCHED[0], "org.freedesktop.Notifications"
    )
    call = new_method_call(notifications, "GetServerInformation")
    with open_dbus_connection(address) as connection:
        connection.send(call)
    wait_for(seen, WATCHED[0])
