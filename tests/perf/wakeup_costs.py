"""Whose wake-ups a kept session costs, measured in this process: a keyring write, a ping.

The idle app's wake-ups are its minute tick plus what each ping brings along. Two parts of a
ping are measured here apart, counting the voluntary context switches of every thread of this
process (idle threads add none): one ``CredentialStore.save_session`` against the real Secret
Service (each successful ping records the new expiry in the keyring), and one keeper ping
against the simulator with the keyring left out (a memory-only store).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator

from tests.perf import procs

SAMPLES = 5


@contextlib.contextmanager
def _environment(overrides: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _switches() -> dict[str, int]:
    return procs.thread_wakeups("self")


def keyring_write(bus: dict[str, str]) -> float | None:
    """Wake-ups of one expiry write to the Secret Service on ``bus``; None if it is not there."""
    from tray_app.services.credentials import CredentialStore

    with _environment(bus):
        store = CredentialStore(service="clickatell-session-tray-perf")
        store.save_session("0" * 32, time.time() + 900)  # resolves the backend, warms up
        if not store.persistent:
            return None
        before = _switches()
        for index in range(SAMPLES):
            store.save_session("0" * 32, time.time() + 900 + index)
        after = _switches()
        store.clear()
    return procs.cpu_ns_between(before, after) / SAMPLES


def keeper_ping(base_url: str) -> float:
    """Wake-ups of one keeper ping (worker thread, the hop back, the keeper's bookkeeping)."""
    from tests.perf.keeper_bench import _keeper_ping_ns, qt_app, wait_until
    from tray_app.core.state import State
    from tray_app.qt.keeper import Keeper
    from tray_app.services.credentials import Credentials, CredentialStore
    from tray_app.sim.server import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER

    qt_app()
    keeper = Keeper(CredentialStore(memory_only=True), base_url=base_url)
    try:
        keeper.sign_in(Credentials(DEMO_API_ID, DEMO_USER, DEMO_PASSWORD))
        if not wait_until(lambda: keeper.snapshot.state is State.ACTIVE, 10):
            raise RuntimeError(f"the keeper did not sign in: {keeper.snapshot}")
        _keeper_ping_ns(keeper)  # the connection is open from here on, as in the app
        before = _switches()
        for _ in range(SAMPLES):
            _keeper_ping_ns(keeper)
        after = _switches()
    finally:
        keeper.stop()
    return procs.cpu_ns_between(before, after) / SAMPLES
