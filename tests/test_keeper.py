"""The keeper against the real simulator over loopback, with the clock injected into both."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import QElapsedTimer, QTimer
from pytestqt.qtbot import QtBot

from tray_app.core.backoff import BACK_ONLINE_AFTER
from tray_app.core.clock import FakeClock
from tray_app.core.session import Event
from tray_app.core.state import State
from tray_app.qt.keeper import Keeper, SyncRunner
from tray_app.qt.runners import Done
from tray_app.services.credentials import Credentials, CredentialStore
from tray_app.sim.server import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER, Simulator

DEMO = Credentials(DEMO_API_ID, DEMO_USER, DEMO_PASSWORD)
STEP = 5.0


@pytest.fixture
def simulator(clock: FakeClock) -> Iterator[Simulator]:
    with Simulator(clock=clock, seed=7) as server:
        yield server


@pytest.fixture
def store() -> CredentialStore:
    return CredentialStore(memory_only=True)


class Recorder:
    """Collects what the keeper says, as a view would hear it."""

    def __init__(self, keeper: Keeper, clock: FakeClock | None = None) -> None:
        self.events: list[Event] = []
        self.ids: list[str | None] = []
        self.states: list[State] = []
        self.state_times: list[tuple[float, State]] = []
        keeper.event.connect(self.events.append)
        keeper.session_id_changed.connect(self.ids.append)
        keeper.state_changed.connect(self.states.append)
        if clock is not None:
            keeper.state_changed.connect(
                lambda state: self.state_times.append((clock.wall(), state))
            )

    def outages(self) -> list[float]:
        """How long each RETRYING spell lasted before the session was ACTIVE again."""
        return [
            back - began
            for (began, before), (back, after) in itertools.pairwise(self.state_times)
            if (before, after) == (State.RETRYING, State.ACTIVE)
        ]


def make_keeper(simulator: Simulator, store: CredentialStore, clock: FakeClock) -> Keeper:
    return Keeper(store, base_url=simulator.base_url, clock=clock, runner=SyncRunner())


def run_for(keeper: Keeper, clock: FakeClock, seconds: float) -> None:
    """Let time pass in coarse steps, ticking as the keeper's timer would."""
    end = clock.wall() + seconds
    while clock.wall() < end:
        clock.advance(STEP)
        keeper.tick()


def test_sign_in_then_pings_every_interval(
    qapp: object, simulator: Simulator, store: CredentialStore, clock: FakeClock
) -> None:
    keeper = make_keeper(simulator, store, clock)
    heard = Recorder(keeper)
    keeper.sign_in(DEMO)
    assert keeper.snapshot.state is State.ACTIVE
    assert heard.events == [Event.SIGNED_IN]
    assert store.load() == DEMO
    assert store.load_session_id() == keeper.snapshot.session_id
    run_for(keeper, clock, 3600)
    snapshot = keeper.snapshot
    assert store.load_session() == (snapshot.session_id, snapshot.expires_at)
    assert simulator.count("auth") == 1
    assert simulator.count("ping") == 6
    assert simulator.count("ping", "ok") == 6


def test_a_day_with_a_fifth_of_requests_failing_needs_one_auth(
    qapp: object, simulator: Simulator, store: CredentialStore, clock: FakeClock
) -> None:
    keeper = make_keeper(simulator, store, clock)
    heard = Recorder(keeper, clock)
    keeper.sign_in(DEMO)
    simulator.set_faults(fault_rate=0.2)
    run_for(keeper, clock, 24 * 3600)
    failed = sum(simulator.count("ping", f"fault {kind}") for kind in ("503", "garbage", "drop"))
    assert failed > 20, "the fault rate did not bite; the test would prove nothing"
    assert simulator.count("auth") == 1
    assert simulator.count("ping", "ERR 003") == 0
    assert Event.EXPIRED not in heard.events
    assert Event.ID_CHANGED not in heard.events
    outages = heard.outages()
    long_ones = [seconds for seconds in outages if seconds >= BACK_ONLINE_AFTER]
    assert len(outages) > len(long_ones) > 0, "the day had no long and short outages to tell apart"
    assert heard.events.count(Event.BACK_ONLINE) == len(long_ones)
    assert keeper.snapshot.state in (State.ACTIVE, State.RETRYING)


def test_forced_expiry_gives_one_new_auth_and_one_id_change(
    qapp: object, simulator: Simulator, store: CredentialStore, clock: FakeClock
) -> None:
    keeper = make_keeper(simulator, store, clock)
    heard = Recorder(keeper)
    keeper.sign_in(DEMO)
    first_id = keeper.snapshot.session_id
    simulator.expire_all()
    run_for(keeper, clock, 3600)
    assert simulator.count("ping", "ERR 003") == 1
    assert simulator.count("auth") == 2
    assert heard.events.count(Event.ID_CHANGED) == 1
    assert keeper.snapshot.session_id not in (None, first_id)
    assert store.load_session_id() == keeper.snapshot.session_id


def test_a_session_found_gone_leaves_the_new_id_in_the_store_at_once(
    qapp: object, simulator: Simulator, store: CredentialStore, clock: FakeClock
) -> None:
    """The dead ping's write (forget the ID) goes before the new auth's (store the new one)."""
    keeper = make_keeper(simulator, store, clock)
    keeper.sign_in(DEMO)
    first_id = keeper.snapshot.session_id
    simulator.expire_all()
    keeper.ping_now()
    assert simulator.count("ping", "ERR 003") == 1
    assert simulator.count("auth") == 2
    snapshot = keeper.snapshot
    assert snapshot.session_id not in (None, first_id)
    assert store.load_session() == (snapshot.session_id, snapshot.expires_at)


def test_wrong_password_sends_exactly_one_auth(
    qapp: object, simulator: Simulator, store: CredentialStore, clock: FakeClock
) -> None:
    keeper = make_keeper(simulator, store, clock)
    heard = Recorder(keeper)
    keeper.sign_in(Credentials(DEMO_API_ID, DEMO_USER, "wrong"))
    run_for(keeper, clock, 2 * 3600)
    keeper.ping_now()
    assert simulator.count("auth") == 1
    assert simulator.count("auth", "ERR 001") == 1
    assert keeper.snapshot.state is State.FAILED
    assert "001" in (keeper.snapshot.last_error or "")
    assert heard.events == [Event.REJECTED]
    assert store.load() is None


def test_clock_jump_past_expiry_recovers_on_the_next_tick(
    qapp: object, simulator: Simulator, store: CredentialStore, clock: FakeClock
) -> None:
    keeper = make_keeper(simulator, store, clock)
    heard = Recorder(keeper)
    keeper.sign_in(DEMO)
    run_for(keeper, clock, 60)
    clock.suspend(3 * 3600)
    run_for(keeper, clock, 30)
    assert simulator.count("auth") == 2
    assert keeper.snapshot.state is State.ACTIVE
    assert heard.events.count(Event.ID_CHANGED) == 1
    assert keeper.snapshot.expires_at is not None
    assert keeper.snapshot.expires_at > clock.wall() + 14 * 60


def test_stored_session_is_pinged_not_replaced(
    qapp: object, simulator: Simulator, store: CredentialStore, clock: FakeClock
) -> None:
    first = make_keeper(simulator, store, clock)
    first.sign_in(DEMO)
    stored_id = store.load_session_id()
    restarted = make_keeper(simulator, store, clock)
    restarted.start()
    assert restarted.snapshot.session_id == stored_id
    assert restarted.snapshot.state is State.ACTIVE
    assert simulator.count("auth") == 1
    assert simulator.count("ping", "ok") == 1


def test_restart_after_simulator_lost_sessions_signs_in_once(
    qapp: object, simulator: Simulator, store: CredentialStore, clock: FakeClock
) -> None:
    make_keeper(simulator, store, clock).sign_in(DEMO)
    simulator.expire_all()
    restarted = make_keeper(simulator, store, clock)
    heard = Recorder(restarted)
    restarted.start()
    assert simulator.count("auth") == 2
    assert heard.events == [Event.ID_CHANGED]


def test_balance_query_counts_as_a_ping(
    qapp: object, simulator: Simulator, store: CredentialStore, clock: FakeClock
) -> None:
    keeper = make_keeper(simulator, store, clock)
    keeper.sign_in(DEMO)
    run_for(keeper, clock, 300)
    keeper.fetch_balance()
    assert keeper.snapshot.balance == 42.5
    run_for(keeper, clock, 550)
    assert simulator.count("ping") == 0
    run_for(keeper, clock, 60)
    assert simulator.count("ping") == 1


def test_no_stored_credentials_after_expiry_reports_expired(
    qapp: object, simulator: Simulator, store: CredentialStore, clock: FakeClock
) -> None:
    keeper = make_keeper(simulator, store, clock)
    keeper.sign_in(DEMO)
    store.clear()
    store.save_session_id(keeper.snapshot.session_id)
    simulator.expire_all()
    heard = Recorder(keeper)
    keeper.ping_now()
    assert heard.events == [Event.EXPIRED]
    assert keeper.snapshot.state is State.EXPIRED


@pytest.mark.slow
def test_event_loop_answers_while_a_request_hangs(qtbot: object, store: CredentialStore) -> None:
    with Simulator() as server:
        store.save(DEMO)
        keeper = Keeper(store, base_url=server.base_url)
        keeper.sign_in(DEMO)
        qtbot.waitUntil(lambda: keeper.snapshot.state is State.ACTIVE, timeout=5000)
        server.force_next_fault("hang", 10.0)
        largest_gap = 0.0
        clock = QElapsedTimer()
        clock.start()
        probe = QTimer()
        probe.setInterval(10)

        def measure() -> None:
            nonlocal largest_gap
            largest_gap = max(largest_gap, clock.restart() / 1000)

        probe.timeout.connect(measure)
        started = time.monotonic()
        with qtbot.waitSignal(keeper.request_done, timeout=20000):
            keeper.ping_now()
            clock.restart()
            probe.start()
        probe.stop()
        keeper.stop()
        hung_for = time.monotonic() - started
    assert hung_for >= 9.5, "the request did not hang; the test would prove nothing"
    print(f"largest event-loop delay while a request hung {hung_for:.1f} s: {largest_gap:.3f} s")
    assert largest_gap < 0.5


def follow_timer(keeper: Keeper, clock: FakeClock, seconds: float) -> int:
    """Let time pass as the keeper's own timer would fire it; the number of wake-ups.

    A timer aimed before a suspend fires at once after it (the fake clock's monotonic time
    stood still, so this is early, never late).
    """
    end, wakes = clock.wall() + seconds, 0
    while keeper.wake_at is not None and keeper.wake_at <= end:
        clock.advance(max(0.0, keeper.wake_at - clock.wall()))
        keeper.tick()
        wakes += 1
    clock.advance(max(0.0, end - clock.wall()))
    return wakes


def test_a_kept_hour_is_one_wake_up_a_minute_with_the_pings_on_it(
    qapp: object, simulator: Simulator, store: CredentialStore, clock: FakeClock
) -> None:
    keeper = make_keeper(simulator, store, clock)
    keeper.sign_in(DEMO)
    wakes = follow_timer(keeper, clock, 3600)
    assert simulator.count("ping", "ok") == 6
    assert simulator.count("auth") == 1
    assert 59 <= wakes <= 61


class OrderingRunner(SyncRunner):
    """Runs jobs inline, noting in ``order`` when (by ``clock``) each reached the runner."""

    def __init__(self, order: list[tuple[float, str]], clock: FakeClock) -> None:
        self._order = order
        self._clock = clock

    def submit(self, job: Callable[[], object], done: Done = None) -> None:
        self._order.append((self._clock.wall(), "request"))
        super().submit(job, done)


def test_the_minute_redraw_comes_before_the_ping_it_shares_a_wake_up_with(
    qapp: object, simulator: Simulator, store: CredentialStore, clock: FakeClock
) -> None:
    """The worker cannot start until this thread lets go of the interpreter: a redraw after
    the hand-over woke it to wait, and cost the idle hour two wake-ups a ping."""
    order: list[tuple[float, str]] = []
    runner = OrderingRunner(order, clock)
    keeper = Keeper(store, base_url=simulator.base_url, clock=clock, runner=runner)
    keeper.sign_in(DEMO)
    keeper.ticked.connect(lambda: order.append((clock.wall(), "redraw")))
    order.clear()
    follow_timer(keeper, clock, 600)
    assert simulator.count("ping", "ok") == 1
    (ping_at,) = [at for at, what in order if what == "request"]
    assert [what for at, what in order if at == ping_at] == ["redraw", "request"]


def test_nothing_kept_stops_the_timer(
    qapp: object, simulator: Simulator, store: CredentialStore, clock: FakeClock
) -> None:
    keeper = make_keeper(simulator, store, clock)
    keeper.sign_in(DEMO)
    assert keeper.wake_at is not None
    keeper.pause()
    # Paused, the server's session still counts down (and is shown): a minute tick until
    # it has died, then none.
    assert keeper.wake_at is not None and keeper.wake_at <= clock.wall() + 60
    clock.advance(15 * 60)
    keeper.tick()
    assert keeper.wake_at is None
    keeper.resume()
    assert keeper.wake_at is not None
    keeper.sign_out()
    assert keeper.wake_at is None


def test_a_suspend_is_noticed_on_the_next_minute_tick(
    qapp: object, simulator: Simulator, store: CredentialStore, clock: FakeClock
) -> None:
    """Without logind, the wall clock outrunning the monotonic one still triggers a ping."""
    keeper = make_keeper(simulator, store, clock)
    keeper.sign_in(DEMO)
    follow_timer(keeper, clock, 120)
    clock.suspend(300)
    follow_timer(keeper, clock, 1)
    assert simulator.count("ping", "ok") == 0
    follow_timer(keeper, clock, 5)
    assert simulator.count("ping", "ok") == 1


def test_with_real_workers_the_store_holds_the_id_and_expiry_the_keeper_shows(
    qtbot: QtBot, store: CredentialStore
) -> None:
    """The keyring half runs later on its own worker and records what this answer proved."""
    with Simulator() as server:
        keeper = Keeper(store, base_url=server.base_url)
        keeper.sign_in(DEMO)
        qtbot.waitUntil(lambda: keeper.snapshot.state is State.ACTIVE, timeout=5000)
        with qtbot.waitSignal(keeper.deadlines_changed, timeout=5000):
            keeper.ping_now()
        assert keeper.stop()
    snapshot = keeper.snapshot
    assert snapshot.session_id is not None
    assert store.load_session() == (snapshot.session_id, snapshot.expires_at)
