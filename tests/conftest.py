"""Shared test set-up: Qt offscreen, an injected clock, and the real desktop stack on demand.

No test touches the desktop of the person running the suite. Two guards, set before anything
is imported, hold for this process and every child that copies its environment:

* the session bus: ``DBUS_SESSION_BUS_ADDRESS`` is replaced by an address where nothing
  listens (and put back before every test), so a notification or a keyring call that a test
  forgets to aim at a private bus fails instead of reaching the real desktop; the fixtures
  of ``desktop_stack`` set the address of their own private bus;
* temporary folders: ``TMPDIR`` is a folder of this run, so what a test or a child leaves
  behind (the demo's ``clickatell-tray-demo-*``) can be seen; a demo folder still there at the
  end fails the run, and the folder is removed either way.
* the state folder: ``XDG_STATE_HOME`` is a folder of this run too, so a store on a test's
  own keyring backend records the session's expiry (``services/expiry_file.py``) there and
  never in the developer's ``~/.local/state``; the desktop fixtures set their own sandbox's.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

from tray_app.core.clock import FakeClock

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")
NO_SESSION_BUS = "unix:path=/nonexistent/clickatell-tray-tests/no-session-bus"
os.environ["DBUS_SESSION_BUS_ADDRESS"] = NO_SESSION_BUS
RUN_TMP = tempfile.mkdtemp(prefix="ctt-")  # short: socket paths under it must fit 108 bytes
os.environ["TMPDIR"] = RUN_TMP
tempfile.tempdir = RUN_TMP
os.environ["XDG_STATE_HOME"] = os.path.join(RUN_TMP, "state")
DEMO_FOLDERS = "clickatell-tray-demo-*"

if TYPE_CHECKING:
    from desktop_stack import SecretService

    from tray_app.qt.keeper import Keeper
    from tray_app.services.credentials import CredentialStore
    from tray_app.sim.server import Simulator

pytest_plugins = ["desktop_stack", "desktop_sni"]


@pytest.fixture(autouse=True)
def _no_inherited_session_bus(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts on the dead bus address, whatever an earlier test did to os.environ."""
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", NO_SESSION_BUS)


@pytest.fixture(autouse=True, scope="session")
def _no_demo_folder_left() -> Iterator[None]:
    """At the end of the run, no demo folder may remain; the run's TMPDIR goes either way."""
    yield
    left = sorted(path.name for path in Path(RUN_TMP).rglob(DEMO_FOLDERS))
    shutil.rmtree(RUN_TMP, ignore_errors=True)
    assert not left, f"demo folders left behind: {left}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def real_store(keyring_env: SecretService) -> Iterator[CredentialStore]:
    """A store on the real (throw-away) Secret Service, with nothing stored before or after."""
    from tray_app.services.credentials import CredentialStore

    CredentialStore().clear()
    yield CredentialStore()
    CredentialStore().clear()


@pytest.fixture
def simulator(clock: FakeClock) -> Iterator[Simulator]:
    """The simulator in this process on a free loopback port, its time from the fake clock."""
    from tray_app.sim.server import Simulator

    with Simulator(clock=clock) as server:
        yield server


def _memory_keeper(base_url: str, clock: FakeClock) -> Keeper:
    from tray_app.qt.keeper import Keeper, SyncRunner
    from tray_app.services.credentials import CredentialStore

    store = CredentialStore(memory_only=True)
    return Keeper(store, base_url=base_url, clock=clock, runner=SyncRunner())


@pytest.fixture
def keeper(qapp: object, simulator: Simulator, clock: FakeClock) -> Iterator[Keeper]:
    """A keeper of :func:`simulator`, not signed in: memory-only credentials, requests run at
    once on the calling thread, time from the fake clock."""
    keeper = _memory_keeper(simulator.base_url, clock)
    yield keeper
    keeper.stop()


@pytest.fixture
def signed_in_keeper(qapp: object, simulator: Simulator, clock: FakeClock) -> Iterator[Keeper]:
    """The same keeper, signed in with the demo account."""
    from tray_app.core.demo import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER
    from tray_app.core.state import State
    from tray_app.services.credentials import Credentials

    keeper = _memory_keeper(simulator.base_url, clock)
    keeper.sign_in(Credentials(DEMO_API_ID, DEMO_USER, DEMO_PASSWORD))
    assert keeper.snapshot.state is State.ACTIVE, keeper.snapshot
    yield keeper
    keeper.stop()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """A client that ignores proxy settings, so loopback calls never leave the machine."""
    with requests.Session() as session:
        session.trust_env = False
        yield session
