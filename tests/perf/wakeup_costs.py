"""Whose wake-ups a kept session costs, measured in this process: its records, a ping.

The idle app's wake-ups are its minute tick plus what each ping brings along. The parts are
measured here apart, counting the voluntary context switches of every thread of this process,
those that ended during the measure included (``getrusage``: the Secret Service backend's
calls ran on threads of their own, which a count of the live threads missed), less those of
the benchmark's own helper threads: one ``CredentialStore.save_session`` that keeps the ID
(what each ping records: the expiry file alone), one that brings a new ID (a keyring write
against the real Secret Service, as after a sign-in), and one keeper ping against the
simulator with a real store, its record included.
"""

from __future__ import annotations

import contextlib
import os
import resource
import threading
import time
from collections.abc import Callable, Iterator

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


class _Wakeups:
    """Wake-ups of this process from here on, less those of the threads already running
    (the benchmark's helpers); the main thread, where the keeper runs, counts."""

    def __init__(self) -> None:
        main = str(threading.main_thread().native_id)
        self._helpers = {tid: n for tid, n in procs.thread_wakeups("self").items() if tid != main}
        self._total = _process_wakeups()

    def since(self) -> int:
        now = procs.thread_wakeups("self")
        helpers = sum(now.get(tid, n) - n for tid, n in self._helpers.items())
        return _process_wakeups() - self._total - helpers


def _process_wakeups() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw


def _per_sample(step: Callable[[int], None]) -> float:
    counted = _Wakeups()
    for index in range(SAMPLES):
        step(index)
    return counted.since() / SAMPLES


def keyring_costs(bus: dict[str, str]) -> dict[str, float] | None:
    """Wake-ups of one expiry record (same ID) and of one new ID, with the Secret Service on
    ``bus`` (which also names the state folder to use); None if it is not there."""
    from tray_app.services.credentials import CredentialStore

    with _environment(bus), contextlib.ExitStack() as cleanup:
        store = CredentialStore(service="clickatell-session-tray-perf")
        store.save_session("0" * 32, time.time() + 900)  # resolves the backend, warms up
        if not store.persistent:
            return None
        cleanup.callback(store.clear)
        same = _per_sample(lambda i: store.save_session("0" * 32, time.time() + 900 + i))
        new = _per_sample(lambda i: store.save_session(f"{i + 1:032x}", time.time() + 900))
    return {"expiry_record": same, "new_id_keyring_write": new}


def keeper_ping(base_url: str, bus: dict[str, str]) -> float:
    """Wake-ups of one keeper ping: the worker, the hop back, the bookkeeping, the record."""
    from tests.perf.keeper_bench import _keeper_ping_ns, qt_app, wait_until
    from tray_app.core.state import State
    from tray_app.qt.keeper import Keeper
    from tray_app.services.credentials import Credentials, CredentialStore
    from tray_app.sim.server import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER

    qt_app()
    with _environment(bus):
        store = CredentialStore(service="clickatell-session-tray-perf")
        keeper = Keeper(store, base_url=base_url)
        try:
            keeper.sign_in(Credentials(DEMO_API_ID, DEMO_USER, DEMO_PASSWORD))
            if not wait_until(lambda: keeper.snapshot.state is State.ACTIVE, 10):
                raise RuntimeError(f"the keeper did not sign in: {keeper.snapshot}")
            _keeper_ping_ns(keeper)  # the connection is open from here on, as in the app
            wait_until(lambda: keeper.in_flight is None, 1)
            return _per_sample(lambda _index: _keeper_ping_ns(keeper))
        finally:
            keeper.stop()
            store.clear()
