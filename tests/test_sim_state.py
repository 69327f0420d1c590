"""The simulator's state over loopback HTTP: credits running out and topped up, the share of
failed deliveries, the request log's message fields, and the bounds on what it keeps."""

from __future__ import annotations

import pytest
import requests
from sim_calls import DEMO, NUMBER, OTHER, balance, call, send, sim

from tray_app.core.clock import FakeClock
from tray_app.core.demo import DEMO_API_ID, DEMO_USER
from tray_app.sim.server import Account, Simulator

__all__ = ["sim"]  # the fixture


def test_failure_rate_fails_about_that_share_of_deliveries(
    http: requests.Session, clock: FakeClock
) -> None:
    rich = Account("5000005", "rich", "pw", balance=1000)
    creds = {"api_id": rich.api_id, "user": rich.user, "password": rich.password}
    with Simulator(clock=clock, accounts=[rich], failure_rate=0.3, seed=5) as sim:
        ids = [send(http, sim, **creds) for _ in range(200)]
        clock.advance(10)
        statuses = [call(http, sim, "querymsg", **creds, apimsgid=i)[-3:] for i in ids]
    assert set(statuses) == {"004", "007"}
    assert 40 <= statuses.count("007") <= 80


def test_credits_run_out_mid_list_then_a_top_up_lets_sending_go_on(
    http: requests.Session, sim: Simulator
) -> None:
    numbers = [f"2782000{i:04d}" for i in range(12)]
    lines = call(http, sim, "sendmsg", to=",".join(numbers), text="hi").split("\n")
    assert [line.startswith("ID: ") for line in lines] == [True] * 10 + [False] * 2
    assert lines[10] == f"ERR: 301, No credit left To: {numbers[10]}"
    assert balance(http, sim) == "Credit: 0.00"
    assert call(http, sim, "sendmsg", to=NUMBER, text="hi") == "ERR: 301, No credit left"
    topped = http.post(
        f"{sim.base_url}/sim/credits", data={"add": "5", **DEMO}, timeout=5
    )  # the password is ignored: control endpoints name an account, they do not sign in
    assert topped.status_code == 200
    assert topped.json() == {f"{DEMO_API_ID}/{DEMO_USER}": 5.0}
    send(http, sim)
    assert balance(http, sim) == "Credit: 4.00"
    other = {"api_id": OTHER.api_id, "user": OTHER.user, "password": OTHER.password}
    assert balance(http, sim, **other) == "Credit: 5.00", "the other account was not topped up"


def test_sim_credits_sets_every_balance_and_refuses_bad_values(
    http: requests.Session, sim: Simulator
) -> None:
    url = f"{sim.base_url}/sim/credits"
    assert http.post(url, data={"balance": "0"}, timeout=5).json() == {
        f"{DEMO_API_ID}/{DEMO_USER}": 0.0,
        f"{OTHER.api_id}/{OTHER.user}": 0.0,
    }
    for bad in ({}, {"add": "1", "balance": "2"}, {"add": "nan"}, {"add": "x"}):
        assert http.post(url, data=bad, timeout=5).status_code == 400, bad
    missing = {"add": "1", "api_id": "1", "user": "nobody"}
    assert http.post(url, data=missing, timeout=5).status_code == 400
    assert http.get(url, timeout=5).status_code == 405
    assert balance(http, sim) == "Credit: 0.00"


def test_the_request_log_has_message_fields_but_no_text(
    http: requests.Session, clock: FakeClock
) -> None:
    records: list[dict[str, object]] = []
    with Simulator(clock=clock, on_request=records.append) as sim:
        answer = call(http, sim, "sendmsg", to=f"{NUMBER},12", text="secret plan", climsgid="c1")
        apimsgid = answer.split()[1]
        call(http, sim, "querymsg", apimsgid=apimsgid)
    assert records == [
        {
            "command": "sendmsg",
            "outcome": "partial",
            "text_length": 11,
            "parts": 1,
            "climsgid": "c1",
            "messages": [{"to": NUMBER, "apimsgid": apimsgid}, {"to": "12", "error": "105"}],
        },
        {"command": "querymsg", "outcome": "ok", "apimsgid": apimsgid, "status": "002"},
    ]
    assert "secret plan" not in repr(records)


def test_the_request_log_carries_the_text_when_asked(
    http: requests.Session, clock: FakeClock
) -> None:
    records: list[dict[str, object]] = []
    with Simulator(clock=clock, on_request=records.append, log_text=True) as sim:
        call(http, sim, "sendmsg", to=NUMBER, text="hello there")
    assert records[0]["text"] == "hello there"


def test_old_messages_are_dropped_beyond_the_limit(
    http: requests.Session, clock: FakeClock
) -> None:
    with Simulator(clock=clock, max_messages=3) as sim:
        ids = [send(http, sim) for _ in range(4)]
        assert call(http, sim, "querymsg", apimsgid=ids[0]) == "ERR: 103, Unknown API message ID"
        assert call(http, sim, "querymsg", apimsgid=ids[3]).endswith("Status: 002")
        assert len(sim.model.messages) == 3


def test_live_sessions_are_bounded_least_recently_used_first(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tray_app.sim.model.MAX_SESSIONS", 3)
    sim = Simulator(clock=clock)
    with sim.model.lock:
        first, second, *_ = [sim.model.sign_in(DEMO, clock.wall()) for _ in range(3)]
        sim.model.use_session({"session_id": first}, clock.wall())
        sim.model.sign_in(DEMO, clock.wall())
    sim.stop()
    alive = sim.session_ids()
    assert len(alive) == 3
    assert first in alive, "used most recently of the old ones"
    assert second not in alive


def test_sim_faults_sets_the_share_of_failed_deliveries_from_now_on(
    http: requests.Session, sim: Simulator, clock: FakeClock
) -> None:
    url = f"{sim.base_url}/sim/faults"
    before = send(http, sim)
    assert http.post(url, data={"delivery_failure_rate": "1"}, timeout=5).text == "OK\n"
    after = send(http, sim)
    bad = {"delivery_failure_rate": "2", "fault_rate": "0.5"}
    assert http.post(url, data=bad, timeout=5).status_code == 400
    assert sim.fault_rate == 0, "all or nothing"
    clock.advance(10)
    assert call(http, sim, "querymsg", apimsgid=before).endswith("Status: 004")
    assert call(http, sim, "querymsg", apimsgid=after).endswith("Status: 007")


def test_a_dead_session_behind_a_live_one_is_still_gone(
    http: requests.Session, clock: FakeClock
) -> None:
    """Expiry is swept oldest-use first; after the clock steps back, a session can be dead
    behind a live one, and it must still answer 003."""
    with Simulator(clock=clock, lifetime=900) as sim:
        alive = call(http, sim, "auth", **DEMO).removeprefix("OK: ")
        clock.advance(-100)
        dead = call(http, sim, "auth", **DEMO).removeprefix("OK: ")
        clock.advance(901)  # dead was last used 901 s ago, alive 801 s ago
        assert sim.session_ids() == [alive]
        assert call(http, sim, "ping", session_id=dead) == "ERR: 003, Session ID expired"
        assert call(http, sim, "ping", session_id=alive) == f"OK: {alive}"
