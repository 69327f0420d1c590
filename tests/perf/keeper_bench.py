"""The keeper against the real simulator on loopback: latency, responsiveness and simulated days.

Real-time figures (ping latency, event-loop delay) use the keeper as the app runs it, with
its worker thread and the system clock. Schedule figures (requests an hour, the soak, memory
over a week) inject a :class:`~tray_app.core.clock.FakeClock` into the keeper and the simulator and
run requests inline (``SyncRunner``), ticking whenever the keeper's own timer would fire.
"""

from __future__ import annotations

import gc
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QElapsedTimer, QEventLoop, QObject, Qt, QTimer

from tests.perf import procs, refleak
from tray_app.core.backoff import LAST_TRY_MARGIN
from tray_app.core.clock import FakeClock
from tray_app.core.protocol import ApiError, Command, ErrorCategory
from tray_app.core.session import LIFETIME, Event, Request
from tray_app.core.state import State
from tray_app.qt.keeper import Keeper, SyncRunner
from tray_app.services.credentials import Credentials, CredentialStore
from tray_app.services.http_client import USER_AGENT, ApiClient
from tray_app.sim.server import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER, Simulator

if TYPE_CHECKING:
    import requests

DEMO = Credentials(DEMO_API_ID, DEMO_USER, DEMO_PASSWORD)
HOUR = 3600.0
DAY = 24 * HOUR
NOTIFIED = (Event.EXPIRED, Event.ID_CHANGED, Event.REJECTED, Event.BACK_ONLINE)
PROBE_MS = 10
SETTLE_SECONDS = 0.002


def qt_app() -> QCoreApplication:
    """The one application object the keeper's timers and queued signals need."""
    return QCoreApplication.instance() or QCoreApplication([])


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Run the event loop until ``condition`` holds (checked every 5 ms) or ``timeout`` passes."""
    qt_app()
    if condition():
        return True
    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(5)
    poll.timeout.connect(lambda: condition() and loop.quit())
    QTimer.singleShot(int(timeout * 1000), loop, loop.quit)
    poll.start()
    loop.exec()
    poll.stop()
    return condition()


def _live_keeper(server: Simulator) -> Keeper:
    """A keeper as the app builds it (worker thread, system clock), signed in and active."""
    keeper = Keeper(CredentialStore(memory_only=True), base_url=server.base_url)
    keeper.sign_in(DEMO)
    if not wait_until(lambda: keeper.snapshot.state is State.ACTIVE, 10):
        keeper.stop()
        raise RuntimeError(f"the keeper did not sign in: {keeper.snapshot}")
    return keeper


def _keeper_ping_ns(keeper: Keeper, timeout: float = 10.0) -> int:
    """From ``ping_now()`` to ``request_done`` back on this thread, in nanoseconds.

    ``ping_now`` is called from inside a running event loop, as the app's timer and menu call
    it, so that the figure holds what the app does, not the cost of entering a nested loop
    after the call (about 15 us here, which the earlier version of this function counted).
    """
    loop = QEventLoop()
    stamps: list[int] = []

    def start() -> None:
        stamps.append(time.perf_counter_ns())
        keeper.ping_now()

    def finished(_request: object, _result: object) -> None:
        stamps.append(time.perf_counter_ns())
        loop.quit()

    # QObject.disconnect(connection), not SignalInstance.disconnect(): in PySide6 6.12 the
    # latter returns a bool without owning a reference, and enough calls abort the interpreter.
    connection = keeper.request_done.connect(finished)
    QTimer.singleShot(0, loop, start)
    QTimer.singleShot(int(timeout * 1000), loop, loop.quit)
    try:
        loop.exec()
    finally:
        QObject.disconnect(connection)
    if len(stamps) < 2:
        raise RuntimeError("a keeper ping got no answer")
    return stamps[1] - stamps[0]


def ping_latency(samples: int, warmup: int = 20, seed: int = 13) -> dict[str, float | int]:
    """Median of a keeper ping against a bare ``requests.post`` on a reused connection.

    All three talk to the same simulator on kept-alive connections, taking turns in an order
    shuffled each round (with a fixed order the same program always came first after the
    pause, and the medians moved with the order), so that they see the same machine: the
    bare post, the app's client called on this thread (what the client itself adds), and the
    keeper (the client on its worker, plus the hop there and back and the bookkeeping). Each
    sample starts from a quiet process (:func:`_settle`).
    """
    qt_app()
    order = random.Random(seed)
    with Simulator() as server:
        keeper = _live_keeper(server)
        session_id = keeper.snapshot.session_id
        assert session_id is not None
        url = f"{server.base_url}/http/ping"
        client = ApiClient(server.base_url)
        with _bare_session() as http:

            def bare() -> int:
                started = time.perf_counter_ns()
                answer = http.post(url, data={"session_id": session_id}, timeout=10)
                elapsed = time.perf_counter_ns() - started
                if not answer.text.startswith("OK"):
                    raise RuntimeError(f"the bare ping failed: {answer.text!r}")
                return elapsed

            def direct() -> int:
                started = time.perf_counter_ns()
                client.ping(session_id)
                return time.perf_counter_ns() - started

            programs: dict[str, Callable[[], int]] = {
                "bare": bare,
                "client": direct,
                "keeper": lambda: _keeper_ping_ns(keeper),
            }
            taken: dict[str, list[int]] = {name: [] for name in programs}
            names = list(programs)
            for index in range(warmup + samples):
                order.shuffle(names)
                for name in names:
                    _settle()
                    elapsed = programs[name]()
                    if index >= warmup:
                        taken[name].append(elapsed)
        client.close()
        keeper.stop()
        ok_pings = server.count("ping", "ok")
    keeper_ns, bare_ns = taken["keeper"], taken["bare"]
    keeper_ms = statistics.median(keeper_ns) / 1e6
    bare_ms = statistics.median(bare_ns) / 1e6
    return {
        "keeper_ms": keeper_ms,
        "bare_ms": bare_ms,
        "client_ms": statistics.median(taken["client"]) / 1e6,
        "ratio": keeper_ms / bare_ms,
        "keeper_p90_ms": _quantile(keeper_ns, 0.9) / 1e6,
        "bare_p90_ms": _quantile(bare_ns, 0.9) / 1e6,
        "samples": samples,
        "server_ok_pings": ok_pings,
    }


def _bare_session() -> requests.Session:
    """A plain ``requests.Session`` that sends what the keeper's client sends to loopback.

    The app's client leaves the environment alone for a loopback base URL (no proxy, netrc or
    CA-bundle variables), and a default session's look-up of them costs about 0.1-0.3 ms a
    call here, more than the keeper's whole hop: left on, it flattered the keeper. The same
    two headers, so that the server sees the same request.
    """
    import requests

    session = requests.Session()
    session.trust_env = False
    session.headers["User-Agent"] = USER_AGENT
    session.headers["Accept-Encoding"] = "identity"
    return session


def _settle(seconds: float = SETTLE_SECONDS) -> None:
    """Run the event loop briefly so that each sample starts from a quiet process.

    A keeper ping leaves work behind (its keyring write on another thread, the server thread
    finishing its log line): without a pause that work ran inside the next sample, the bare
    post's as often as not, which made the baseline slower than it is. A real ping, every few
    minutes, always meets a quiet process.
    """
    loop = QEventLoop()
    QTimer.singleShot(max(1, round(seconds * 1000)), loop, loop.quit)
    loop.exec()


def _quantile(values: list[int], share: float) -> float:
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(share * len(ordered)))])


def event_loop_delay(hang: float) -> dict[str, float]:
    """The largest lateness of a 10 ms timer while the keeper's ping hangs ``hang`` seconds."""
    qt_app()
    with Simulator() as server:
        keeper = _live_keeper(server)
        server.force_next_fault("hang", hang)
        worst_ms = 0.0
        ticks = 0
        elapsed = QElapsedTimer()
        probe = QTimer()
        probe.setTimerType(Qt.TimerType.PreciseTimer)
        probe.setInterval(PROBE_MS)

        def measure() -> None:
            nonlocal worst_ms, ticks
            ticks += 1
            worst_ms = max(worst_ms, elapsed.nsecsElapsed() / 1e6 - PROBE_MS)
            elapsed.restart()

        probe.timeout.connect(measure)
        done: list[object] = []
        keeper.request_done.connect(lambda _request, result: done.append(result))
        started = time.monotonic()
        keeper.ping_now()
        elapsed.start()
        probe.start()
        answered = wait_until(lambda: bool(done), hang + 30)
        probe.stop()
        hung_for = time.monotonic() - started
        keeper.stop()
    if not answered:
        raise RuntimeError("the hanging ping never came back")
    if not isinstance(done[0], ApiError):
        raise RuntimeError(f"the ping did not hang: it returned {done[0]!r}")
    return {"max_delay_ms": max(0.0, worst_ms), "hung_s": hung_for, "probe_ticks": ticks}


@dataclass
class Recorder:
    """What the keeper said during a simulated run, as a view (and a user) would hear it."""

    events: Counter[Event] = field(default_factory=Counter)
    requests: list[tuple[Request, object]] = field(default_factory=list)

    def attach(self, keeper: Keeper) -> None:
        keeper.event.connect(lambda event: self.events.update([event]))
        keeper.request_done.connect(lambda request, result: self.requests.append((request, result)))


class Schedule:
    """A keeper and the simulator on one fake clock, ticked when the keeper's timer would fire."""

    def __init__(self, server: Simulator, clock: FakeClock, *, record: bool = True) -> None:
        qt_app()
        self.server = server
        self.clock = clock
        self.keeper = Keeper(
            CredentialStore(memory_only=True),
            base_url=server.base_url,
            clock=clock,
            runner=SyncRunner(),
        )
        self.heard = Recorder()
        self.ticks = 0
        if record:
            self.heard.attach(self.keeper)

    def run_for(self, seconds: float) -> None:
        """Let ``seconds`` of fake time pass, from one wake of the keeper's timer to the next."""
        end = self.clock.wall() + seconds
        while True:
            wake = self.keeper.wake_at
            if wake is None or wake > end:
                self.clock.advance(max(0.0, end - self.clock.wall()))
                return
            self.clock.advance(max(0.0, wake - self.clock.wall()))
            self.ticks += 1
            self.keeper.tick()


def requests_per_kept_hour() -> dict[str, int]:
    """Pings and auths in the hour after signing in (the sign-in's own auth not counted).

    ``timer_wakes`` is how often the keeper's timer fired in that hour.
    """
    clock = FakeClock()
    with Simulator(clock=clock, seed=1) as server:
        schedule = Schedule(server, clock)
        schedule.keeper.sign_in(DEMO)
        auths, pings = server.count("auth"), server.count("ping")
        schedule.run_for(HOUR)
        result = {
            "pings": server.count("ping") - pings,
            "auths": server.count("auth") - auths,
            "timer_wakes": schedule.ticks,
        }
        schedule.keeper.stop()
    return result


def soak(hours: float, fault_rate: float, seed: int = 20) -> dict[str, object]:
    """A simulated stretch with a share of requests failing (503, garbage, dropped)."""
    clock = FakeClock()
    with Simulator(clock=clock, seed=seed) as server:
        schedule = Schedule(server, clock)
        schedule.keeper.sign_in(DEMO)
        server.set_faults(fault_rate=fault_rate)
        schedule.run_for(hours * HOUR)
        schedule.keeper.stop()
        stats = server.stats()
    heard = schedule.heard
    expiries, avoidable = _expiries(heard.requests)
    pings = stats.get("ping", {})
    notifications = {event.name: heard.events[event] for event in NOTIFIED}
    return {
        "hours": hours,
        "fault_rate": fault_rate,
        "auths": sum(stats.get("auth", {}).values()),
        "pings": sum(pings.values()),
        "pings_failed": sum(n for outcome, n in pings.items() if outcome.startswith("fault")),
        "expiries": expiries,
        "avoidable_expiries": avoidable,
        "notifications": sum(notifications.values()),
        "notifications_by_kind": notifications,
        "final_state": schedule.keeper.snapshot.state.value,
    }


def _expiries(requests: list[tuple[Request, object]]) -> tuple[int, int]:
    """Sessions lost while the keeper held them, and how many of those it could have saved.

    A session dies ``LIFETIME`` after its last successful use. Losing it is unavoidable if
    the server dropped it before that, or if every request since then failed and the keeper
    was still trying in the last ``2 * LAST_TRY_MARGIN`` before it died; anything else was
    the keeper's fault.
    """
    expiries = avoidable = 0
    last_ok: float | None = None
    attempts: list[float] = []
    for request, result in requests:
        lost = (
            isinstance(result, ApiError)
            and result.category is ErrorCategory.SESSION_GONE
            and request.command is not Command.AUTH
        ) or (request.command is Command.AUTH and request.session_id is not None)
        if lost and last_ok is not None:
            expiries += 1
            died = last_ok + LIFETIME
            late = [t for t in attempts if died - 2 * LAST_TRY_MARGIN <= t < died]
            if request.sent_at >= died and not late:
                avoidable += 1
            last_ok = None
        if isinstance(result, ApiError):
            attempts.append(request.sent_at)
        else:
            last_ok = request.sent_at
            attempts = []
    return expiries, avoidable


def rss_growth(days: float, warmup_days: float) -> dict[str, float]:
    """Resident memory of this process before and after ``days`` of schedule, after a warm-up.

    Everything runs here: the keeper, its client and the simulator, so the figure is an
    upper bound for the keeper alone.
    """
    clock = FakeClock()
    with Simulator(clock=clock, seed=3) as server:
        schedule = Schedule(server, clock, record=False)
        schedule.keeper.sign_in(DEMO)
        schedule.run_for(warmup_days * DAY)
        gc.collect()
        before_kib = procs.rss_kib()
        blocks_before = _allocated_blocks()
        refs_before = refleak.refs()
        started = time.perf_counter()
        schedule.run_for(days * DAY)
        seconds = time.perf_counter() - started
        refs_lost = refleak.lost_since(refs_before)
        gc.collect()
        after_kib = procs.rss_kib()
        blocks_after = _allocated_blocks()
        schedule.keeper.stop()
        pings = server.count("ping")
    return {
        "growth_kib": float(after_kib - before_kib),
        "before_kib": float(before_kib),
        "after_kib": float(after_kib),
        "python_blocks_growth": float(blocks_after - blocks_before),
        "simulated_days": days,
        "warmup_days": warmup_days,
        "pings": float(pings),
        "wall_seconds": seconds,
        "none_refs_lost_per_day": refs_lost["None"] / days,
        "true_refs_lost_per_day": refs_lost["True"] / days,
    }


def _allocated_blocks() -> int:
    return sys.getallocatedblocks()
