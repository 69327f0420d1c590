"""The message commands over real loopback HTTP: every answer form and every error path.

The simulator runs on a fake clock, so a message's whole life (queued, at the gateway,
received) passes by advancing it; nothing here sleeps.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

from tray_app.core.clock import FakeClock
from tray_app.sim.server import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER, Account, Simulator

DEMO = {"api_id": DEMO_API_ID, "user": DEMO_USER, "password": DEMO_PASSWORD}
OTHER = Account("4000004", "other", "other-pw", balance=5.0)
NUMBER = "27820000001"
ID_LINE = re.compile(r"ID: ([0-9a-f]{32})")


@pytest.fixture
def sim(clock: FakeClock) -> Iterator[Simulator]:
    demo = Account(DEMO_API_ID, DEMO_USER, DEMO_PASSWORD, balance=10.0)
    with Simulator(clock=clock, accounts=[demo, OTHER], seed=1) as simulator:
        yield simulator


def call(http: requests.Session, sim: Simulator, command: str, **params: str) -> str:
    """POST one command with the demo credentials unless a session or others are given."""
    if "session_id" not in params and "user" not in params:
        params = {**DEMO, **params}
    path = "utils" if command == "routeCoverage" else "http"
    response = http.post(f"{sim.base_url}/{path}/{command}", data=params, timeout=5)
    assert response.status_code == 200
    assert response.text.endswith("\n")
    return response.text[:-1]


def send(http: requests.Session, sim: Simulator, **params: str) -> str:
    """Send one message and return its API message ID."""
    answer = call(http, sim, "sendmsg", **{"to": NUMBER, "text": "hello", **params})
    match = ID_LINE.fullmatch(answer)
    assert match, answer
    return match.group(1)


def balance(http: requests.Session, sim: Simulator, **credentials: str) -> str:
    return call(http, sim, "getbalance", **credentials)


def test_sendmsg_to_one_number_answers_its_id_and_charges_a_credit(
    http: requests.Session, sim: Simulator
) -> None:
    apimsgid = send(http, sim)
    assert call(http, sim, "querymsg", apimsgid=apimsgid) == f"ID: {apimsgid} Status: 002"
    assert balance(http, sim) == "Credit: 9.00"


def test_sendmsg_by_session_keeps_the_session_alive(
    http: requests.Session, sim: Simulator, clock: FakeClock
) -> None:
    session_id = call(http, sim, "auth", **DEMO).removeprefix("OK: ")
    for _ in range(3):
        clock.advance(600)
        send(http, sim, session_id=session_id)
    assert sim.session_ids() == [session_id], "30 minutes of use, never 15 idle"
    clock.advance(900)
    assert call(http, sim, "sendmsg", session_id=session_id, to=NUMBER, text="x") == (
        "ERR: 003, Session ID expired"
    )


def test_a_message_goes_queued_gateway_received_on_the_clock(
    http: requests.Session, sim: Simulator, clock: FakeClock
) -> None:
    apimsgid = send(http, sim)
    seen = []
    for _ in range(5):
        seen.append(call(http, sim, "querymsg", apimsgid=apimsgid).rsplit(" ", 1)[1])
        clock.advance(1.0)
    assert seen == ["002", "003", "003", "003", "004"]


def test_deliv_time_holds_a_message_for_later_delivery(
    http: requests.Session, sim: Simulator, clock: FakeClock
) -> None:
    apimsgid = send(http, sim, deliv_time="10")
    clock.advance(599)
    assert call(http, sim, "querymsg", apimsgid=apimsgid).endswith("Status: 011")
    clock.advance(1)
    assert call(http, sim, "querymsg", apimsgid=apimsgid).endswith("Status: 002")
    clock.advance(60)
    assert call(http, sim, "querymsg", apimsgid=apimsgid).endswith("Status: 004")


def test_numbers_in_the_failing_range_end_in_a_delivery_error(
    http: requests.Session, sim: Simulator, clock: FakeClock
) -> None:
    apimsgid = send(http, sim, to="99700000001")
    clock.advance(1)
    assert call(http, sim, "querymsg", apimsgid=apimsgid).endswith("Status: 003")
    clock.advance(3)
    assert call(http, sim, "querymsg", apimsgid=apimsgid).endswith("Status: 007")


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


def test_querymsg_by_client_message_id(http: requests.Session, sim: Simulator) -> None:
    apimsgid = send(http, sim, climsgid="order-17")
    assert call(http, sim, "querymsg", climsgid="order-17") == f"ID: {apimsgid} Status: 002"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "109"),
        ({"apimsgid": "0" * 32}, "103"),
        ({"climsgid": "never-sent"}, "104"),
    ],
    ids=["no-id", "unknown-apimsgid", "unknown-climsgid"],
)
@pytest.mark.parametrize("command", ["querymsg", "delmsg", "getmsgcharge"])
def test_message_lookups_name_what_is_missing(
    http: requests.Session, sim: Simulator, command: str, params: dict[str, str], code: str
) -> None:
    assert call(http, sim, command, **params).startswith(f"ERR: {code}, ")


def test_another_accounts_message_is_unknown(http: requests.Session, sim: Simulator) -> None:
    apimsgid = send(http, sim)
    other = {"api_id": OTHER.api_id, "user": OTHER.user, "password": OTHER.password}
    assert call(http, sim, "querymsg", **other, apimsgid=apimsgid) == (
        "ERR: 103, Unknown API message ID"
    )


def test_getmsgcharge_answers_in_the_form_client_libraries_parse(
    http: requests.Session, sim: Simulator, clock: FakeClock
) -> None:
    apimsgid = send(http, sim, text="x" * 200, concat="2")
    clock.advance(10)
    assert call(http, sim, "getmsgcharge", apiMsgId=apimsgid) == (
        f"apiMsgId: {apimsgid} charge: 2 status: 004"
    )


def test_delmsg_cancels_a_queued_message_and_gives_the_credit_back(
    http: requests.Session, sim: Simulator, clock: FakeClock
) -> None:
    apimsgid = send(http, sim, deliv_time="60")
    assert balance(http, sim) == "Credit: 9.00"
    assert call(http, sim, "delmsg", apimsgid=apimsgid) == f"ID: {apimsgid} Status: 006"
    assert balance(http, sim) == "Credit: 10.00"
    clock.advance(7200)
    assert call(http, sim, "getmsgcharge", apimsgid=apimsgid).endswith("charge: 0 status: 006")


def test_delmsg_cannot_stop_a_message_that_left_the_queue(
    http: requests.Session, sim: Simulator, clock: FakeClock
) -> None:
    apimsgid = send(http, sim)
    clock.advance(1)
    assert call(http, sim, "delmsg", apimsgid=apimsgid) == f"ID: {apimsgid} Status: 003"
    clock.advance(5)
    assert call(http, sim, "querymsg", apimsgid=apimsgid).endswith("Status: 004")
    assert balance(http, sim) == "Credit: 9.00"


def test_several_numbers_get_one_line_each_with_errors_mixed_in(
    http: requests.Session, sim: Simulator
) -> None:
    answer = call(
        http, sim, "sendmsg", to=f"{NUMBER},12ab,99900000001,99800000001, 27820000002", text="hi"
    )
    lines = answer.split("\n")
    assert len(lines) == 5
    assert re.fullmatch(rf"ID: [0-9a-f]{{32}} To: {NUMBER}", lines[0])
    assert lines[1] == "ERR: 105, Invalid destination address To: 12ab"
    assert lines[2] == "ERR: 114, Cannot route message To: 99900000001"
    assert lines[3] == "ERR: 121, Destination mobile number blocked To: 99800000001"
    assert re.fullmatch(r"ID: [0-9a-f]{32} To: 27820000002", lines[4])
    assert balance(http, sim) == "Credit: 8.00", "only the two accepted messages are charged"
    assert sim.count("sendmsg", "partial") == 1


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


@pytest.mark.parametrize(
    ("params", "line"),
    [
        ({"to": NUMBER}, "ERR: 101, Invalid or missing parameters"),
        ({"text": "hi"}, "ERR: 101, Invalid or missing parameters"),
        ({"to": NUMBER, "text": ""}, "ERR: 107, Empty message"),
        ({"to": NUMBER, "text": "x" * 161}, "ERR: 113, Maximum message parts exceeded"),
        (
            {"to": NUMBER, "text": "x" * 460, "concat": "3"},
            "ERR: 113, Maximum message parts exceeded",
        ),
        ({"to": NUMBER, "text": "hi", "concat": "4"}, "ERR: 101, Invalid or missing parameters"),
        ({"to": NUMBER, "text": "00e", "unicode": "1"}, "ERR: 116, Invalid Unicode data"),
        ({"to": NUMBER, "text": "hello", "unicode": "1"}, "ERR: 116, Invalid Unicode data"),
        ({"to": NUMBER, "text": "D800", "unicode": "1"}, "ERR: 116, Invalid Unicode data"),
        ({"to": NUMBER, "text": "hi", "deliv_time": "10081"}, "ERR: 120, Invalid delivery time"),
        ({"to": NUMBER, "text": "hi", "deliv_time": "soon"}, "ERR: 120, Invalid delivery time"),
        (
            {"to": NUMBER, "text": "hi", "from": "a sender too long"},
            "ERR: 106, Invalid source address",
        ),
        (
            {"to": NUMBER, "text": "hi", "climsgid": "x" * 33},
            "ERR: 101, Invalid or missing parameters",
        ),
        ({"to": NUMBER, "text": "hi", "callback": "8"}, "ERR: 101, Invalid or missing parameters"),
        ({"to": NUMBER, "text": "hi", "queue": "0"}, "ERR: 101, Invalid or missing parameters"),
        ({"to": NUMBER, "text": "hi", "mo": "yes"}, "ERR: 101, Invalid or missing parameters"),
        ({"to": NUMBER, "text": "hi", "max_credits": "0.5"}, "ERR: 302, Max allowed credit"),
        ({"to": "+27820000001", "text": "hi"}, "ERR: 105, Invalid destination address"),
        ({"to": "123", "text": "hi"}, "ERR: 105, Invalid destination address"),
        ({"to": "99900000001", "text": "hi"}, "ERR: 114, Cannot route message"),
        ({"to": "99800000001", "text": "hi"}, "ERR: 121, Destination mobile number blocked"),
        (
            {"to": ",".join([NUMBER] * 101), "text": "hi"},
            "ERR: 101, Invalid or missing parameters",
        ),
    ],
    ids=[
        "no-text",
        "no-to",
        "empty-text",
        "too-long-for-one-part",
        "too-long-for-three-parts",
        "concat-over-3",
        "unicode-odd-hex",
        "unicode-not-hex",
        "unicode-lone-surrogate",
        "deliv-time-over-7-days",
        "deliv-time-not-a-number",
        "bad-sender",
        "climsgid-too-long",
        "bad-callback",
        "bad-queue",
        "bad-mo",
        "over-max-credits",
        "plus-sign",
        "too-short",
        "unroutable",
        "blocked",
        "over-100-recipients",
    ],
)
def test_sendmsg_errors(
    http: requests.Session, sim: Simulator, params: dict[str, str], line: str
) -> None:
    assert call(http, sim, "sendmsg", **params) == line
    assert balance(http, sim) == "Credit: 10.00", "a refused message costs nothing"


@pytest.mark.parametrize(
    ("credentials", "line"),
    [
        ({}, "ERR: 005, Missing session ID"),
        ({"session_id": "0" * 32}, "ERR: 003, Session ID expired"),
        ({**DEMO, "password": "wrong"}, "ERR: 001, Authentication failed"),
        ({**DEMO, "api_id": "1"}, "ERR: 108, Invalid or missing api_id"),
    ],
    ids=["none", "dead-session", "wrong-password", "wrong-api-id"],
)
@pytest.mark.parametrize("command", ["sendmsg", "querymsg", "getmsgcharge", "routeCoverage"])
def test_every_message_command_needs_a_session_or_credentials(
    http: requests.Session, sim: Simulator, command: str, credentials: dict[str, str], line: str
) -> None:
    params = {"to": NUMBER, "text": "hi", "apimsgid": "0" * 32, "msisdn": NUMBER}
    path = "utils" if command == "routeCoverage" else "http"
    answer = http.post(
        f"{sim.base_url}/{path}/{command}", data={**params, **credentials}, timeout=5
    )
    assert answer.text == line + "\n"


def test_long_and_unicode_texts_count_their_parts(
    http: requests.Session, sim: Simulator, clock: FakeClock
) -> None:
    assert send(http, sim, text="€" * 80)  # 160 septets: one part, exactly
    gsm_two = send(http, sim, text="é" * 161, concat="2")
    extended = send(http, sim, text="€" * 81, concat="2")  # two septets each: 162
    hindi = "".join(f"{ord(c):04X}" for c in "नमस्ते" * 12)  # 72 UTF-16 units
    ucs2 = send(http, sim, text=hindi, unicode="1", concat="3")
    charges = [
        call(http, sim, "getmsgcharge", apimsgid=i).split()[3] for i in (gsm_two, extended, ucs2)
    ]
    assert charges == ["2", "2", "2"]
    assert balance(http, sim) == "Credit: 3.00"


def test_route_coverage_answers_ok_with_a_charge_or_an_err_line(
    http: requests.Session, sim: Simulator
) -> None:
    assert call(http, sim, "routeCoverage", msisdn=NUMBER) == (
        "OK: This prefix is currently supported. Messages sent to this prefix will be routed."
        " Charge: 1"
    )
    assert call(http, sim, "routeCoverage", msisdn="99900000001").startswith(
        "ERR: This prefix is not currently supported."
    )
    assert call(http, sim, "routeCoverage") == "ERR: 101, Invalid or missing parameters"
    php = http.get(f"{sim.base_url}/utils/routeCoverage.php", params={**DEMO, "msisdn": NUMBER})
    assert php.text.startswith("OK: ")


def test_get_works_and_a_get_body_does_not_leak_into_the_next_request(
    http: requests.Session, sim: Simulator
) -> None:
    """One client library sends GET with the parameters in the query and JSON in the body."""
    url = f"{sim.base_url}/http/sendmsg"
    first = http.get(url, params={**DEMO, "to": NUMBER, "text": "a"}, data='{"to": "x"}')
    second = http.get(url, params={**DEMO, "to": NUMBER, "text": "b"})
    assert ID_LINE.fullmatch(first.text.strip())
    assert ID_LINE.fullmatch(second.text.strip())


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
