"""Resume and network-back signals reach the keeper, which then pings after a short grace."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tray_app.core.clock import FakeClock
from tray_app.core.session import RESUME_GRACE
from tray_app.qt.keeper import Keeper, SyncRunner
from tray_app.qt.wakeups import WakeupWatcher
from tray_app.services.credentials import Credentials, CredentialStore
from tray_app.sim.server import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER, Simulator


@pytest.fixture
def watcher(qapp: object) -> Iterator[WakeupWatcher]:
    watching = WakeupWatcher()
    yield watching
    watching.close()


def heard(watcher: WakeupWatcher) -> list[str]:
    reasons: list[str] = []
    watcher.woke_up.connect(reasons.append)
    return reasons


def test_resume_from_sleep_is_reported_going_to_sleep_is_not(watcher: WakeupWatcher) -> None:
    reasons = heard(watcher)
    watcher.prepare_for_sleep(True)
    assert reasons == []
    watcher.prepare_for_sleep(False)
    assert reasons == ["resumed from sleep"]


def test_only_a_return_to_online_is_reported(watcher: WakeupWatcher) -> None:
    reasons = heard(watcher)
    watcher.reachability_changed(True)
    watcher.reachability_changed(False)
    watcher.reachability_changed(False)
    watcher.reachability_changed(True)
    watcher.reachability_changed(True)
    assert reasons == ["network is back"]


def test_a_wake_up_pings_after_the_grace_not_at_once(
    qapp: object, watcher: WakeupWatcher, simulator: Simulator, clock: FakeClock
) -> None:
    keeper = Keeper(
        CredentialStore(memory_only=True),
        base_url=simulator.base_url,
        clock=clock,
        runner=SyncRunner(),
    )
    watcher.woke_up.connect(keeper.woke_up)
    keeper.sign_in(Credentials(DEMO_API_ID, DEMO_USER, DEMO_PASSWORD))
    clock.advance(60)
    watcher.prepare_for_sleep(False)
    keeper.tick()
    assert simulator.count("ping") == 0
    clock.advance(RESUME_GRACE)
    keeper.tick()
    assert simulator.count("ping", "ok") == 1
