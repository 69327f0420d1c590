"""The network watch reads the kernel's routes and links: a real kernel, in a namespace of its own.

``netns_watch.py`` runs the watch in a fresh network namespace (``unshare -n``, or ``-rn`` for
a user without root) and changes links and routes there with ``ip``: nothing outside the
namespace is touched, and it goes away with the process. Where netlink is missing, the watch
falls back to Qt's network information.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from desktop_stack import REQUIRE_DESKTOP, require_tools

from tray_app.qt import wakeups
from tray_app.qt.wakeups import WakeupWatcher

HELPER = Path(__file__).with_name("netns_watch.py")
BACK = ["network is back"]


def _namespace_command() -> list[str]:
    """``unshare`` for a network namespace this user may make; skip (or fail in CI) if none."""
    require_tools("unshare", "ip")
    for flags in (["-n"], ["-rn"]) if os.geteuid() == 0 else (["-rn"],):
        probe = subprocess.run(
            ["unshare", *flags, "ip", "link", "set", "lo", "up"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0:
            return ["unshare", *flags]
    reason = f"no network namespace for this user: {probe.stderr.strip()}"
    if os.environ.get(REQUIRE_DESKTOP) == "1":
        pytest.fail(f"{reason} ({REQUIRE_DESKTOP}=1 forbids skipping)", pytrace=False)
    pytest.skip(reason)


def test_the_watch_follows_default_routes_and_carrier_and_says_when_the_network_is_back() -> None:
    done = subprocess.run(
        [*_namespace_command(), sys.executable, str(HELPER)],
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[0] == {"sources": ["network (netlink)"]}
    seen = [(line["step"], line["online"], line["woke"]) for line in lines[1:]]
    assert seen == [
        ("start", False, []),
        ("a link with carrier and an address, no default route", False, []),
        ("an IPv4 default route", True, BACK),
        ("the carrier lost (the route stays, marked link-down)", False, []),
        ("the carrier back", True, BACK),
        ("the route deleted", False, []),
        ("a route to a network, not a default one", False, []),
        ("an IPv6 default route", True, BACK),
        ("the link deleted", False, []),
        ("a multipath default route over two links", True, BACK),
        ("both carriers lost", False, []),
        ("one carrier back", True, BACK),
        ("3000 routes at once, then the default route deleted (the socket overflows)", False, []),
    ], done.stderr


def test_without_netlink_the_watch_asks_qt_and_still_starts(
    qapp: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtNetwork import QNetworkInformation

    def refused() -> None:
        raise PermissionError(1, "netlink forbidden here")

    monkeypatch.setattr(wakeups, "RouteWatch", refused)
    watcher = WakeupWatcher()
    network = [source for source in watcher.sources if source.startswith("network")]
    if QNetworkInformation.availableBackends():
        assert network == [f"network ({QNetworkInformation.instance().backendName()})"]
    else:
        assert network == []
    watcher.close()
