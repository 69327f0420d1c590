"""The keeper when a request hangs: abandoned and retried, never "active" past the expiry, and
keyring writes (forgetting the credentials above all) that never wait behind it, not even at quit.

Real worker threads, a real socket held open by the hostile server, the real Secret Service on
a private bus; the keeper's clock is a fake one, so abandoning after 30 s takes no real time.
The client's own 20 s deadline is lifted here, so only the keeper's watchdog can end the hang.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hostile_server import HostileServer, Reply
from pytestqt.qtbot import QtBot

from tray_app.core.clock import FakeClock
from tray_app.core.session import ABANDON_AFTER, KeepAlivePlan
from tray_app.core.state import State
from tray_app.qt.keeper import Keeper
from tray_app.services.credentials import Credentials, CredentialStore
from tray_app.services.http_client import ApiClient

SID = "f6b9af2a2c9e5b18ee2d257e3def5d66"
ACCOUNT = Credentials("3456789", "alice", "hunter2-hostile")
WAIT_MS = 10_000


@pytest.fixture
def hanging() -> Iterator[HostileServer]:
    with HostileServer(Reply(hang=True)) as server:
        yield server


def patient_client(base_url: str) -> ApiClient:
    return ApiClient(base_url, read_timeout=600.0, deadline=600.0)


def hung_keeper(store: CredentialStore, server: HostileServer, clock: FakeClock) -> Keeper:
    """A keeper started on a stored session whose first ping hangs; real worker threads."""
    store.save(ACCOUNT)
    store.save_session_id(SID)
    keeper = Keeper(store, base_url=server.base_url, clock=clock, client_factory=patient_client)
    keeper.start()
    return keeper


def test_a_hung_ping_is_abandoned_then_retried_on_a_fresh_worker(
    qtbot: QtBot, hanging: HostileServer, clock: FakeClock
) -> None:
    store = CredentialStore(memory_only=True)
    keeper = hung_keeper(store, hanging, clock)
    seen: list[tuple[float, State, float | None]] = []
    keeper.snapshot_changed.connect(
        lambda snap: seen.append((clock.wall(), snap.state, snap.expires_at))
    )
    qtbot.waitUntil(lambda: len(hanging.requests) == 1, timeout=WAIT_MS)
    for _ in range(12):  # 60 s after the ping was sent, in steps of the coarse tick
        clock.advance(5.0)
        keeper.tick()
    assert keeper.snapshot.state is State.RETRYING
    assert keeper.snapshot.last_error is not None
    assert f"no answer within {ABANDON_AFTER:g} s" in keeper.snapshot.last_error.lower()
    # The retry reached the server although the first request is still stuck on its socket.
    qtbot.waitUntil(lambda: len(hanging.requests) == 2, timeout=WAIT_MS)
    assert all(state is not State.ACTIVE for _when, state, _expires in seen)
    keeper.stop()


def test_the_state_is_never_active_past_the_expiry() -> None:
    """A suspend past the expiry: the next tick no longer claims the session is alive."""
    clock = FakeClock()
    plan = KeepAlivePlan()
    sent = plan.start(clock.wall(), has_credentials=True, stored_session_id=SID)
    assert sent.request is not None
    plan.completed(sent.request, SID, clock.wall())
    assert plan.state is State.ACTIVE
    clock.suspend(16 * 60)
    plan.tick(clock.wall(), clock.monotonic())
    assert plan.state is not State.ACTIVE


def test_forgetting_clears_the_keyring_while_a_request_hangs(
    qtbot: QtBot, hanging: HostileServer, clock: FakeClock, real_store: CredentialStore
) -> None:
    keeper = hung_keeper(real_store, hanging, clock)
    qtbot.waitUntil(lambda: len(hanging.requests) == 1, timeout=WAIT_MS)
    keeper.forget_credentials()
    qtbot.waitUntil(lambda: CredentialStore().load_session_id() is None, timeout=WAIT_MS)
    assert CredentialStore().load() is None
    keeper.stop()


def test_quitting_right_after_forgetting_still_clears_the_keyring(
    qtbot: QtBot, hanging: HostileServer, clock: FakeClock, real_store: CredentialStore
) -> None:
    """The clear is queued when the user quits at once; ``stop`` waits for it, not the ping."""
    keeper = hung_keeper(real_store, hanging, clock)
    qtbot.waitUntil(lambda: len(hanging.requests) == 1, timeout=WAIT_MS)
    keeper.forget_credentials()
    assert keeper.stop() is True
    fresh = CredentialStore()
    assert fresh.load() is None
    assert fresh.load_session_id() is None
    assert fresh.persistent
