"""The app's threads carry their names into /proc, where wake-ups are counted per thread."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import requests

from tray_app.core.os_threads import NamedThread
from tray_app.sim.server import Simulator


def _comm(native_id: int) -> str:
    return Path(f"/proc/self/task/{native_id}/comm").read_text().strip()


def _os_name_of(thread_factory: type[threading.Thread], name: str) -> str:
    seen: list[str] = []
    thread = thread_factory(target=lambda: seen.append(_comm(threading.get_native_id())), name=name)
    thread.start()
    thread.join(5)
    return seen[0]


def _thread_names() -> set[str]:
    return {_comm(int(tid)) for tid in os.listdir("/proc/self/task")}


def test_a_named_thread_shows_its_name_to_the_os() -> None:
    assert _os_name_of(NamedThread, "keeper-worker") == "keeper-worker"


def test_a_plain_thread_shows_only_the_process_name() -> None:
    # What NamedThread is for: without it, /proc cannot tell the threads apart.
    assert _os_name_of(threading.Thread, "keeper-worker") != "keeper-worker"


def test_a_long_or_non_ascii_name_is_cut_to_what_the_kernel_holds() -> None:
    assert _os_name_of(NamedThread, "simulator-connection-\u00e9") == "simulator-conne"


def test_the_simulator_serves_on_threads_named_for_it(http: requests.Session) -> None:
    with Simulator() as simulator:
        # A kept-alive connection holds its handler thread open while we look.
        answer = http.get(f"{simulator.base_url}/http/ping", params={"session_id": "x"})
        assert answer.status_code == 200
        names = _thread_names()
    assert "simulator" in names
    assert "sim-connection" in names
