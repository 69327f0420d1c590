"""The exchange against the real simulator: what each answer proves is what the store holds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tray_app.core.clock import FakeClock
from tray_app.core.protocol import ApiError, Command, ErrorCategory
from tray_app.core.session import LIFETIME, check_interval, expiry_after
from tray_app.services.credentials import Credentials, CredentialStore
from tray_app.services.exchange import Exchange, NoCredentials, Receipt
from tray_app.services.http_client import ApiClient
from tray_app.sim.server import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER, Simulator

DEMO = Credentials(DEMO_API_ID, DEMO_USER, DEMO_PASSWORD)


def auth(exchange: Exchange, offered: Credentials | None = None) -> Receipt:
    return exchange.run(exchange.attempt(Command.AUTH, offered=offered))


def ping(exchange: Exchange, session_id: str) -> Receipt:
    return exchange.run(exchange.attempt(Command.PING, session_id))


@pytest.fixture
def simulator(clock: FakeClock) -> Iterator[Simulator]:
    with Simulator(clock=clock, seed=3) as server:
        yield server


@pytest.fixture
def store() -> CredentialStore:
    return CredentialStore(memory_only=True)


@pytest.fixture
def exchange(simulator: Simulator, store: CredentialStore, clock: FakeClock) -> Iterator[Exchange]:
    client = ApiClient(simulator.base_url)
    yield Exchange(store, lambda: client, clock=clock)
    client.close()


def test_auth_stores_the_credentials_the_id_and_the_expiry_from_the_send(
    exchange: Exchange, store: CredentialStore, clock: FakeClock, simulator: Simulator
) -> None:
    proof = auth(exchange, DEMO)
    assert proof.attempt.sent_at == clock.wall()
    assert proof.expires_at == clock.wall() + LIFETIME == expiry_after(clock.wall())
    assert proof.session_id in simulator.session_ids()
    assert store.load() == DEMO
    assert store.load_session() == (proof.session_id, proof.expires_at)


def test_a_ping_moves_the_stored_expiry(
    exchange: Exchange, store: CredentialStore, clock: FakeClock
) -> None:
    first = auth(exchange, DEMO)
    clock.advance(300)
    pinged = ping(exchange, first.session_id)
    assert pinged.expires_at == first.expires_at + 300
    assert store.load_session() == (first.session_id, first.expires_at + 300)


def test_the_network_half_records_nothing_until_told(
    exchange: Exchange, store: CredentialStore, clock: FakeClock
) -> None:
    first = auth(exchange, DEMO)
    clock.advance(120)
    attempt = exchange.attempt(Command.PING, first.session_id)
    receipt = exchange.send(attempt)
    assert store.load_session() == (first.session_id, first.expires_at)
    exchange.record(attempt, receipt)
    assert store.load_session() == (first.session_id, first.expires_at + 120)


def test_a_balance_query_counts_as_a_ping(
    exchange: Exchange, store: CredentialStore, clock: FakeClock
) -> None:
    first = auth(exchange, DEMO)
    clock.advance(60)
    proof = exchange.run(exchange.attempt(Command.BALANCE, first.session_id))
    assert proof.balance == 42.5
    assert store.load_session() == (first.session_id, clock.wall() + LIFETIME)


def test_session_gone_forgets_the_stored_id_and_keeps_the_credentials(
    exchange: Exchange, store: CredentialStore, simulator: Simulator
) -> None:
    first = auth(exchange, DEMO)
    simulator.expire_all()
    with pytest.raises(ApiError) as gone:
        ping(exchange, first.session_id)
    assert gone.value.category is ErrorCategory.SESSION_GONE
    assert store.load_session() == (None, None)
    assert store.load() == DEMO


def test_network_trouble_proves_nothing_and_records_nothing(
    exchange: Exchange, store: CredentialStore, simulator: Simulator, clock: FakeClock
) -> None:
    first = auth(exchange, DEMO)
    clock.advance(60)
    simulator.force_next_fault("503")
    with pytest.raises(ApiError) as trouble:
        ping(exchange, first.session_id)
    assert trouble.value.category is ErrorCategory.TRANSIENT
    assert store.load_session() == (first.session_id, first.expires_at)


def test_a_rejected_password_stores_nothing_and_forgets_the_session(
    exchange: Exchange, store: CredentialStore
) -> None:
    auth(exchange, DEMO)
    with pytest.raises(ApiError) as rejected:
        auth(exchange, Credentials(DEMO_API_ID, DEMO_USER, "wrong"))
    assert rejected.value.category is ErrorCategory.CREDENTIALS_REJECTED
    assert store.load() == DEMO
    assert store.load_session() == (None, None)


def test_auth_with_nothing_stored_says_so_without_a_request(
    exchange: Exchange, simulator: Simulator
) -> None:
    with pytest.raises(NoCredentials):
        auth(exchange)
    assert simulator.count("auth") == 0


def test_the_stored_credentials_are_used_when_none_are_offered(
    exchange: Exchange, store: CredentialStore
) -> None:
    store.save(DEMO)
    assert store.load_session() == (None, None)
    proof = auth(exchange)
    assert store.load_session() == (proof.session_id, proof.expires_at)


@pytest.mark.parametrize(
    ("seconds", "loopback", "words"),
    [
        (0, True, "under the 15-minute session lifetime"),
        (900, True, "under the 15-minute session lifetime"),
        (30, False, "only allowed against a loopback server"),
    ],
)
def test_the_interval_rule_refuses(seconds: float, loopback: bool, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        check_interval(seconds, loopback=loopback)


@pytest.mark.parametrize(("seconds", "loopback"), [(30, True), (60, False), (14 * 60, False)])
def test_the_interval_rule_accepts(seconds: float, loopback: bool) -> None:
    assert check_interval(seconds, loopback=loopback) == seconds
