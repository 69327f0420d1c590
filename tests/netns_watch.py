"""Run inside a network namespace of its own (``unshare -n``): the app's network watch, for real.

Starts a :class:`~tray_app.qt.wakeups.WakeupWatcher` on a Qt event loop, then changes the
namespace's links and routes with ``ip``, one step at a time. After a step that should change
the state it runs the event loop until the watch has taken in what the kernel said (at most
``STEP_SECONDS``); after one that should not, one turn of the loop. It prints one JSON line
per step: the step's name, the state the watch holds, and the "woke up" reasons it emitted.
``test_netlink.py`` reads them; the namespace (and everything in it) goes with the process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer

from tray_app.qt.wakeups import WakeupWatcher

STEP_SECONDS = 10.0
"""A guard against a hang, not a measurement: the kernel's messages come within milliseconds
(a carrier change goes through the kernel's link watch, which may hold it up to a second)."""

BURST = 3000
"""Routes added in one go while the watch does not read: more messages than its socket holds."""

STEPS: list[tuple[str, list[str], bool]] = [
    (
        "a link with carrier and an address, no default route",
        [
            "link add wan type veth peer name wan-peer",
            "link set wan-peer up",
            "link set wan up",
            "addr add 10.9.0.2/24 dev wan",
        ],
        False,
    ),
    ("an IPv4 default route", ["route add default via 10.9.0.1 dev wan"], True),
    ("the carrier lost (the route stays, marked link-down)", ["link set wan-peer down"], True),
    ("the carrier back", ["link set wan-peer up"], True),
    ("the route deleted", ["route del default via 10.9.0.1 dev wan"], True),
    ("a route to a network, not a default one", ["route add 10.10.0.0/16 via 10.9.0.1"], False),
    ("an IPv6 default route", ["-6 route add default dev wan metric 100"], True),
    ("the link deleted", ["link del wan"], True),
    (
        "a multipath default route over two links",
        [
            *(f"link add {name} type veth peer name {name}-peer" for name in ("wan1", "wan2")),
            *(f"link set {name} up" for name in ("wan1", "wan1-peer", "wan2", "wan2-peer")),
            "addr add 10.9.1.2/24 dev wan1",
            "addr add 10.9.2.2/24 dev wan2",
            "route add default nexthop via 10.9.1.1 dev wan1 nexthop via 10.9.2.1 dev wan2",
        ],
        True,
    ),
    ("both carriers lost", ["link set wan1-peer down", "link set wan2-peer down"], True),
    ("one carrier back", ["link set wan2-peer up"], True),
    (
        f"{BURST} routes at once, then the default route deleted (the socket overflows)",
        ["-batch BURST", "route del default"],
        True,
    ),
]


def ip(command: str) -> None:
    if command == "-batch BURST":
        networks = (f"10.{128 + n // 256}.{n % 256}.0/24" for n in range(BURST))
        lines = "".join(f"route add {network} dev wan2\n" for network in networks)
        subprocess.run(["ip", "-batch", "-"], input=lines, text=True, check=True)
        return
    subprocess.run(["ip", *command.split()], check=True)


def main() -> int:
    app = QCoreApplication(sys.argv[:1])
    watcher = WakeupWatcher()
    woke: list[str] = []
    watcher.woke_up.connect(woke.append)
    print(json.dumps({"sources": watcher.sources}), flush=True)
    waker = QTimer()
    waker.start(100)  # so that a wait below ends at its deadline even if nothing happens

    def run_until(done: Callable[[], bool]) -> None:
        deadline = time.monotonic() + STEP_SECONDS
        while not done() and time.monotonic() < deadline:
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)

    run_until(lambda: watcher.online is not None)
    print(json.dumps({"step": "start", "online": watcher.online, "woke": woke}), flush=True)
    for name, commands, changes in STEPS:
        before, woke[:] = watcher.online, []
        for command in commands:
            ip(command)
        if changes:
            run_until(lambda: watcher.online != before)  # noqa: B023 (used at once)
        else:
            # A route's message is queued on the socket before `ip` returns: one turn reads it.
            app.processEvents()
        print(json.dumps({"step": name, "online": watcher.online, "woke": woke}), flush=True)
    watcher.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
