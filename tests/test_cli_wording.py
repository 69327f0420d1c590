"""The command line's words: one line per keepalive event, honest ping output, a login hint
that works as written."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.desktop_stack import SecretService
from tests.test_cli import login, run_cli
from tray_app.cli.keepalive import KeepaliveReporter
from tray_app.core.clock import FakeClock
from tray_app.qt.keeper import Keeper, SyncRunner
from tray_app.services.credentials import Credentials, CredentialStore
from tray_app.services.http_client import ApiClient
from tray_app.sim.server import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER, Simulator

DEMO = Credentials(DEMO_API_ID, DEMO_USER, DEMO_PASSWORD)


@pytest.fixture
def short_lived() -> Iterator[Simulator]:
    """Like ``simulate --lifetime 6s``."""
    with Simulator(lifetime=6.0).start() as server:
        yield server


@pytest.fixture
def env(secret_service: SecretService, short_lived: Simulator) -> Iterator[dict[str, str]]:
    env = secret_service.env
    env["CLICKATELL_BASE_URL"] = short_lived.base_url
    yield env
    run_cli("logout", env=env)


def test_keepalive_says_it_checks_a_stored_session_and_one_line_per_ping(
    qapp: object, clock: FakeClock
) -> None:
    with Simulator(clock=clock).start() as simulator:
        store = CredentialStore(memory_only=True)
        store.save(DEMO)
        store.save_session_id(
            ApiClient(simulator.base_url).auth(DEMO_API_ID, DEMO_USER, DEMO_PASSWORD)
        )  # an earlier run's
        keeper = Keeper(store, base_url=simulator.base_url, clock=clock, runner=SyncRunner())
        lines: list[str] = []
        reporter = KeepaliveReporter(keeper, None, clock=clock.wall, out=lines.append)
        keeper.start()
        for _ in range(3 * 120):
            clock.advance(5)
            keeper.tick()
        keeper.stop()
    del reporter
    said = [line.split(" ", 1)[1] for line in lines]
    assert said[0].startswith("checking the stored session ")
    assert not any("signing in" in line for line in said), said
    pings = simulator.count("ping")
    assert pings == 4, simulator.stats()  # the check at start, then every 10 minutes
    assert said[1:] == ["Ping OK: session kept alive"] * pings


def test_ping_does_not_claim_fifteen_minutes_on_a_six_second_server(
    env: dict[str, str],
) -> None:
    assert login(env).returncode == 0
    result = run_cli("ping", env=env)
    assert result.returncode == 0, result.stderr
    assert "15:00" not in result.stdout
    assert re.fullmatch(
        r"OK: session \w{4}…\w{4} is alive \(pinged at \d\d:\d\d:\d\d\)\n", result.stdout
    )


def test_the_sign_in_again_hint_works_as_written(
    env: dict[str, str], short_lived: Simulator
) -> None:
    assert login(env).returncode == 0
    short_lived.expire_all()
    gone = run_cli("ping", env=env)
    assert gone.returncode == 4
    hint = gone.stderr.strip().rsplit("with: ", 1)[1].rstrip(")")
    assert hint == "clickatell-tray login"
    again = run_cli(*hint.split()[1:], env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("signed in; session ")
    assert short_lived.count("auth", "ok") == 2


def test_login_without_stored_credentials_says_what_to_give(env: dict[str, str]) -> None:
    result = run_cli("login", env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "clickatell-tray: no stored credentials: sign in with: "
        "clickatell-tray login --api-id ID --user NAME"
    )
