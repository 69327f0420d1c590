"""The session's expiry lives in a state file, the keyring is written only when the ID changes.

Against the real Secret Service (gnome-keyring on a private bus) and the real simulator: a
ping that keeps the ID must not reach the keyring at all (it used to cost a D-Bus round trip
and some thirty wake-ups of the process), while a new store, as a later ``status`` builds it,
still reads the last ping's expiry. A state file that cannot be read or written costs one
warning line and nothing else.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

import keyring
import keyring.core
import pytest
from desktop_stack import SecretService
from keyring.backends import SecretService as secret_service_backend

from tray_app.core.clock import FakeClock
from tray_app.core.protocol import Command
from tray_app.qt.keeper import Keeper
from tray_app.qt.runners import Done, SyncRunner
from tray_app.services.credentials import ENTRY, SERVICE, Credentials, CredentialStore
from tray_app.services.exchange import Exchange
from tray_app.services.expiry_file import ExpiryFile, default_path, fingerprint
from tray_app.services.http_client import ApiClient
from tray_app.sim.server import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER, Simulator

DEMO = Credentials(DEMO_API_ID, DEMO_USER, DEMO_PASSWORD)
SESSION_ID = "0123456789abcdef0123456789abcdef"
LOGGER = "tray_app.services.expiry_file"


class CountingSecretService(secret_service_backend.Keyring):
    """The real Secret Service backend, counting the calls that reach it."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.reads = 0

    def get_password(self, service: str, username: str) -> str | None:
        self.reads += 1
        return super().get_password(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self.writes += 1
        super().set_password(service, username, password)


@pytest.fixture
def counting(
    keyring_env: SecretService, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CountingSecretService]:
    backend = CountingSecretService()
    monkeypatch.setattr(keyring.core, "_keyring_backend", backend)
    CredentialStore().clear()
    yield backend
    CredentialStore().clear()


@pytest.fixture
def exchange(counting: CountingSecretService, clock: FakeClock) -> Iterator[Exchange]:
    with Simulator(clock=clock) as server:
        client = ApiClient(server.base_url)
        yield Exchange(CredentialStore(), lambda: client, clock=clock)
        client.close()


def stored_entry() -> dict[str, str]:
    return json.loads(keyring.get_password(SERVICE, ENTRY) or "{}")


def test_a_ping_writes_the_expiry_file_and_not_the_keyring(
    exchange: Exchange, counting: CountingSecretService, clock: FakeClock
) -> None:
    signed_in = exchange.run(exchange.attempt(Command.AUTH, offered=DEMO))
    assert counting.writes > 0, "a new session ID goes to the keyring"
    writes, reads = counting.writes, counting.reads

    clock.advance(600)
    pinged = exchange.run(exchange.attempt(Command.PING, signed_in.session_id))
    clock.advance(600)
    exchange.run(exchange.attempt(Command.PING, signed_in.session_id))

    assert (counting.writes, counting.reads) == (writes, reads), "a ping reached the keyring"
    assert pinged.expires_at == signed_in.expires_at + 600
    later = CredentialStore().load_session()  # a later status, with no owner
    assert later == (signed_in.session_id, signed_in.expires_at + 1200)
    assert "expires_at" not in stored_entry()


def test_the_state_file_holds_no_secret_and_is_for_this_user_alone(
    exchange: Exchange, counting: CountingSecretService
) -> None:
    signed_in = exchange.run(exchange.attempt(Command.AUTH, offered=DEMO))

    path = default_path()
    text = path.read_text()
    assert signed_in.session_id not in text
    assert DEMO_PASSWORD not in text
    assert json.loads(text) == {
        "session": fingerprint(signed_in.session_id),
        "expires_at": signed_in.expires_at,
    }
    assert path.stat().st_mode & 0o077 == 0
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_an_expiry_of_another_session_is_not_shown_for_this_one(
    counting: CountingSecretService,
) -> None:
    store = CredentialStore()
    store.save(DEMO)
    store.save_session(SESSION_ID, 1_000_000.0)
    other = "f" * 32
    ExpiryFile(default_path()).write(other, 2_000_000.0)

    assert CredentialStore().load_session() == (SESSION_ID, None)


def test_a_new_id_or_a_sign_out_reaches_the_keyring_and_the_file(
    counting: CountingSecretService,
) -> None:
    store = CredentialStore()
    store.save(DEMO)
    store.save_session(SESSION_ID, 1_000_000.0)
    writes = counting.writes

    store.save_session("a" * 32, 1_000_900.0)
    assert counting.writes == writes + 1
    assert CredentialStore().load_session() == ("a" * 32, 1_000_900.0)

    store.save_session(None, None)
    assert CredentialStore().load_session() == (None, None)
    assert not default_path().exists()
    assert CredentialStore().load() == DEMO


def test_an_entry_from_before_the_state_file_keeps_its_expiry_until_the_next_write(
    counting: CountingSecretService,
) -> None:
    legacy = {**asdict(DEMO), "session_id": SESSION_ID, "expires_at": "1000000.0"}
    keyring.set_password(SERVICE, ENTRY, json.dumps(legacy))

    assert CredentialStore().load_session() == (SESSION_ID, 1_000_000.0)

    store = CredentialStore()
    store.load_session()
    store.save_session(SESSION_ID, 1_000_600.0)
    assert "expires_at" not in stored_entry()
    assert stored_entry()["session_id"] == SESSION_ID
    assert CredentialStore().load_session() == (SESSION_ID, 1_000_600.0)


def test_a_corrupt_state_file_is_one_warning_and_an_unknown_expiry(
    counting: CountingSecretService, caplog: pytest.LogCaptureFixture
) -> None:
    store = CredentialStore()
    store.save(DEMO)
    store.save_session(SESSION_ID, 1_000_000.0)
    default_path().write_bytes(b'{"session": "' + b"\xff" * 10 + b"\x00 not json")

    reader = CredentialStore()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert reader.load_session() == (SESSION_ID, None)
        assert reader.load_session() == (SESSION_ID, None)
    warnings = [r for r in caplog.records if r.name == LOGGER]
    assert len(warnings) == 1
    assert "not valid JSON" in warnings[0].getMessage()
    assert str(default_path()) in warnings[0].getMessage()
    assert reader.load() == DEMO and reader.persistent

    store.save_session(SESSION_ID, 1_000_600.0)  # the next ping mends it
    assert CredentialStore().load_session() == (SESSION_ID, 1_000_600.0)


@pytest.mark.parametrize(
    "content",
    [
        b"[]",
        b'{"session": 1, "expires_at": 5}',
        b'{"session": "x", "expires_at": "soon"}',
        b'{"session": "x", "expires_at": -1}',
        b'{"session": "x", "expires_at": true}',
        b'{"session": "x", "expires_at": 1e999}',
        b"{" * 5000,
    ],
)
def test_a_state_file_that_is_not_ours_is_refused_without_quoting_it(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "session-expiry.json"
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert ExpiryFile(path).read(SESSION_ID) is None
    (warning,) = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert content.decode(errors="replace")[:20] not in warning.split("(", 1)[1]


def test_a_state_folder_that_cannot_be_written_is_one_warning_and_loses_nothing(
    counting: CountingSecretService, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The folder's place is taken by a plain file, so every write fails (as on a read-only
    or full disk, which a test running as root cannot stage); the keyring is still written."""
    blocker = tmp_path / "state"
    blocker.write_text("not a folder")
    path = blocker / "clickatell-session-tray" / "session-expiry.json"
    store = CredentialStore(expiry_file=ExpiryFile(path))

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        store.save(DEMO)
        store.save_session(SESSION_ID, 1_000_000.0)
        store.save_session(SESSION_ID, 1_000_600.0)
        store.save_session(SESSION_ID, 1_001_200.0)
    warnings = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(warnings) == 1, warnings
    assert "Cannot record the session's expiry" in warnings[0]
    assert store.persistent and store.problem is None
    assert store.load_session() == (SESSION_ID, 1_001_200.0), "this run still knows it"
    elsewhere = CredentialStore(expiry_file=ExpiryFile(path))
    assert elsewhere.load_session() == (SESSION_ID, None), "unknown, not stale"
    assert elsewhere.load() == DEMO
    assert blocker.read_text() == "not a folder"


def test_a_store_in_memory_writes_no_state_file(tmp_path: Path) -> None:
    path = tmp_path / "session-expiry.json"
    store = CredentialStore(memory_only=True, expiry_file=ExpiryFile(path))
    store.save(DEMO)
    store.save_session(SESSION_ID, 1_000_000.0)

    assert store.load_session() == (SESSION_ID, 1_000_000.0)
    assert not path.exists()


class HeldRunner(SyncRunner):
    """A keyring worker that runs nothing until told: what it was given, in order."""

    def __init__(self) -> None:
        self.jobs: list[tuple[Callable[[], object], Done]] = []

    def submit(self, job: Callable[[], object], done: Done = None) -> None:
        self.jobs.append((job, done))

    def run_all(self) -> None:
        while self.jobs:
            job, done = self.jobs.pop(0)
            super().submit(job, done)


def test_a_keepers_ping_records_its_expiry_without_the_keyring_worker(
    qapp: object, counting: CountingSecretService, clock: FakeClock
) -> None:
    keyring_worker = HeldRunner()
    with Simulator(clock=clock) as server:
        keeper = Keeper(
            CredentialStore(),
            base_url=server.base_url,
            clock=clock,
            runner=SyncRunner(),
            keyring_runner=keyring_worker,
        )
        keeper.sign_in(DEMO)
        assert keyring_worker.jobs, "a new ID goes through the keyring worker"
        keyring_worker.run_all()
        calls = (counting.reads, counting.writes)

        clock.advance(600)
        keeper.ping_now()
        assert keeper.snapshot.expires_at == clock.wall() + 900

        assert keyring_worker.jobs == [], "the ping's record waited for the keyring worker"
        assert (counting.reads, counting.writes) == calls
        assert CredentialStore().load_session() == (
            keeper.snapshot.session_id,
            keeper.snapshot.expires_at,
        )
        keeper.stop()


def test_a_pings_record_queues_behind_a_keyring_job_still_waiting(
    qapp: object, counting: CountingSecretService, clock: FakeClock
) -> None:
    """Records keep their order: an expiry written now would be overwritten by the older one
    still queued, or land before the ID it belongs to."""
    keyring_worker = HeldRunner()
    with Simulator(clock=clock) as server:
        keeper = Keeper(
            CredentialStore(),
            base_url=server.base_url,
            clock=clock,
            runner=SyncRunner(),
            keyring_runner=keyring_worker,
        )
        keeper.sign_in(DEMO)
        queued = len(keyring_worker.jobs)
        clock.advance(600)
        keeper.ping_now()

        assert len(keyring_worker.jobs) == queued + 1
        keyring_worker.run_all()
        assert CredentialStore().load_session() == (
            keeper.snapshot.session_id,
            keeper.snapshot.expires_at,
        )
        keeper.stop()


OTHER_ID = "fedcba9876543210fedcba9876543210"


def first_record(folder: Path) -> tuple[Path, ExpiryFile]:
    """A record this process has just written for SESSION_ID, and its writer."""
    path = folder / "session-expiry.json"
    record = ExpiryFile(path)
    record.write(SESSION_ID, 1_764_758_400.0)
    return path, record


def test_the_pings_of_one_session_rewrite_its_record_in_place(tmp_path: Path) -> None:
    """A new file at every ping made the process wait for the disk (a new inode, the old
    one's blocks freed): one session's pings keep the file and its size."""
    path, record = first_record(tmp_path)
    first = path.stat()

    for expires_at in (1_764_759_000.123456, 1_764_759_600.0):
        record.write(SESSION_ID, expires_at)
        again = path.stat()
        assert (again.st_ino, again.st_size) == (first.st_ino, first.st_size)
        assert ExpiryFile(path).read(SESSION_ID) == round(expires_at, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name], "a spare file was left"


def test_a_new_session_replaces_the_record_in_one_step(tmp_path: Path) -> None:
    path, record = first_record(tmp_path)
    first = path.stat().st_ino

    record.write(OTHER_ID, 1_764_759_000.0)

    assert path.stat().st_ino != first
    assert ExpiryFile(path).read(OTHER_ID) == 1_764_759_000.0
    assert ExpiryFile(path).read(SESSION_ID) is None


def test_a_file_that_took_the_records_place_is_replaced_not_written_through(
    tmp_path: Path,
) -> None:
    path, record = first_record(tmp_path)
    theirs = tmp_path / "theirs"
    content = path.read_bytes().replace(b"1764758400", b"1234567890")
    theirs.write_bytes(content)
    path.unlink()
    path.hardlink_to(theirs)

    record.write(SESSION_ID, 1_764_759_000.0)

    assert theirs.read_bytes() == content, "another file was written through"
    assert ExpiryFile(path).read(SESSION_ID) == 1_764_759_000.0


def test_a_link_or_a_fifo_in_the_records_place_is_neither_followed_nor_waited_on(
    tmp_path: Path,
) -> None:
    path, record = first_record(tmp_path)
    target = tmp_path / "target"
    target.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(target)

    record.write(SESSION_ID, 1_764_759_000.0)
    assert not path.is_symlink() and target.read_bytes().count(b"1764758400") == 1

    path.unlink()
    os.mkfifo(path)  # opened for writing without a reader, it would block the keeper
    record.write(SESSION_ID, 1_764_759_600.0)
    assert path.is_file() and ExpiryFile(path).read(SESSION_ID) == 1_764_759_600.0
