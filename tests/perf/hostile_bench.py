"""Reliability against a hostile server: what a 1 GiB answer, a 1 byte/s server and a hang cost.

The same hostile server as the tests (``tests/hostile_server.py``), on 127.0.0.1:

* peak RSS of one ``ping`` (the API client in a fresh interpreter, as the CLI runs it)
  answered with 1 GiB, against the same ping answered normally (target: < 5 MiB more);
* the wall time of a ``ping`` against a server sending one byte a second (target: the
  client's documented 20 s deadline; ``--quick`` uses a 2 s deadline so the suite stays fast);
* the keeper's state 60 s after its ping hangs, and over the rest of the session's life:
  real worker threads and a socket held open, time from a fake clock (target: retrying,
  never "active" past the expiry).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.hostile_server import GIB, HostileServer, Reply, ok
from tests.perf.report import Row, fmt, verdict
from tests.perf.section import Plan, Result, progress

SID = "f6b9af2a2c9e5b18ee2d257e3def5d66"
TARGET_EXTRA_RSS_MIB = 5.0
QUICK_DEADLINE = 2.0
DEADLINE_SLACK = 1.0
HANG_WATCH_SECONDS = 60.0
TICK = 5.0

PING = """
import sys
from tray_app.core.protocol import ApiError
from tray_app.services.http_client import ApiClient
url, sid, deadline = sys.argv[1], sys.argv[2], float(sys.argv[3])
try:
    ApiClient(url, deadline=deadline).ping(sid)
    print("ok")
except ApiError as error:
    print(f"error: {error}")
"""


def _ping_process(base_url: str, deadline: float) -> tuple[str, float, float]:
    """One ping in a fresh interpreter: its answer, peak RSS (MiB) and wall time (s)."""
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-c", PING, base_url, SID, str(deadline)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert process.stdout is not None
    said = process.stdout.read().strip()
    _pid, _status, usage = os.wait4(process.pid, 0)
    process.returncode = 0  # reaped by wait4 above
    elapsed = time.monotonic() - started
    return said, usage.ru_maxrss / 1024, elapsed


def rss_of_a_huge_answer() -> dict[str, Any]:
    with HostileServer(ok(f"OK: {SID}")) as server:
        normal, normal_rss, _ = _ping_process(server.base_url, 20.0)
        server.reply = Reply(body=b"OK: ", size=GIB, filler=b"0")
        huge, huge_rss, _ = _ping_process(server.base_url, 20.0)
    return {
        "normal_ping_rss_mib": normal_rss,
        "gib_answer_rss_mib": huge_rss,
        "extra_mib": huge_rss - normal_rss,
        "normal_answer": normal,
        "gib_answer": huge,
    }


def longest_trickled_ping(deadline: float) -> dict[str, Any]:
    with HostileServer(Reply(body=f"OK: {SID}".encode(), size=10_000, trickle=1.0)) as server:
        said, _rss, elapsed = _ping_process(server.base_url, deadline)
    return {"deadline_s": deadline, "elapsed_s": elapsed, "answer": said}


def keeper_after_a_hang(lifetime_watch: float) -> dict[str, Any]:
    """The keeper on a stored session whose pings all hang; ``lifetime_watch`` s of fake time."""
    from PySide6.QtCore import QCoreApplication

    from tray_app.core.clock import FakeClock
    from tray_app.core.state import State
    from tray_app.qt.keeper import Keeper
    from tray_app.services.credentials import Credentials, CredentialStore
    from tray_app.services.http_client import ApiClient

    app = QCoreApplication.instance() or QCoreApplication([])
    clock = FakeClock()
    store = CredentialStore(memory_only=True)
    store.save(Credentials("1000001", "demo", "demo"))
    store.save_session_id(SID)
    with HostileServer(Reply(hang=True)) as server:
        keeper = Keeper(
            store,
            base_url=server.base_url,
            clock=clock,
            client_factory=lambda url: ApiClient(url, read_timeout=3600, deadline=3600),
        )
        keeper.start()
        deadline = time.monotonic() + 10
        while not server.requests and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        started = clock.wall()
        at_watch: dict[str, Any] = {}
        active_past_expiry = 0.0
        states: list[str] = []
        while clock.wall() - started < lifetime_watch:
            clock.advance(TICK)
            keeper.tick()
            app.processEvents()
            snap = keeper.snapshot
            if not states or states[-1] != snap.state.value:
                states.append(snap.state.value)
            past = snap.expires_at is not None and clock.wall() >= snap.expires_at
            if snap.state is State.ACTIVE and (past or snap.expires_at is None):
                active_past_expiry += TICK
            if not at_watch and clock.wall() - started >= HANG_WATCH_SECONDS:
                at_watch = {
                    "state": snap.state.value,
                    "expires_in_s": None
                    if snap.expires_at is None
                    else snap.expires_at - clock.wall(),
                    "last_error": snap.last_error,
                }
        time.sleep(0.2)
        sent = len(server.requests)
        keeper.stop(flush_seconds=1.0)
    return {
        "after_60s": at_watch,
        "requests_sent": sent,
        "watched_s": lifetime_watch,
        "states_seen": states,
        "active_past_expiry_s": active_past_expiry,
    }


def run(plan: Plan) -> Result:
    progress("hostile: peak RSS of a ping answered with 1 GiB")
    rss = rss_of_a_huge_answer()
    deadline = QUICK_DEADLINE if plan.quick else 20.0
    progress(f"hostile: a ping against a 1 byte/s server ({deadline:g} s deadline)")
    trickle = longest_trickled_ping(deadline)
    progress("hostile: the keeper while every ping hangs")
    keeper = keeper_after_a_hang(HANG_WATCH_SECONDS if plan.quick else 16 * 60.0)
    figures = {
        "hostile_gib_answer_extra_rss_mib": rss["extra_mib"],
        "hostile_trickle_ping_s": trickle["elapsed_s"],
        "hostile_keeper_state_after_hang_60s": keeper["after_60s"].get("state"),
        "hostile_keeper_active_past_expiry_s": keeper["active_past_expiry_s"],
    }
    rows = [
        Row(
            "ping answered with 1 GiB: peak RSS",
            fmt(rss["gib_answer_rss_mib"], 1, " MiB"),
            fmt(rss["normal_ping_rss_mib"], 1, " MiB") + " normal ping",
            f"+{rss['extra_mib']:.1f} MiB",
            f"< +{TARGET_EXTRA_RSS_MIB:g} MiB",
            verdict(rss["extra_mib"] < TARGET_EXTRA_RSS_MIB and rss["gib_answer"] != "ok"),
        ),
        Row(
            "longest ping, server at 1 byte/s",
            fmt(trickle["elapsed_s"], 1, " s"),
            "",
            "",
            f"≤ {deadline:g} s deadline",
            verdict(trickle["elapsed_s"] <= deadline + DEADLINE_SLACK),
        ),
        Row(
            "keeper 60 s after its ping hangs",
            f"{keeper['after_60s'].get('state')}, {keeper['requests_sent']} requests in "
            f"{keeper['watched_s']:g} s, active past expiry {keeper['active_past_expiry_s']:g} s",
            "",
            "",
            "retrying, 0 s",
            verdict(
                keeper["after_60s"].get("state") == "retrying"
                and keeper["active_past_expiry_s"] == 0
            ),
        ),
    ]
    return Result(
        figures=figures,
        details={"hostile": {"rss": rss, "trickle": trickle, "keeper": keeper}},
        rows=rows,
    )
