"""The message commands over real loopback HTTP: every answer form and every error path.

The simulator runs on a fake clock, so a message's whole life (queued, at the gateway,
received) passes by advancing it; nothing here sleeps. Credits, the request log and the
limits are in ``test_sim_state.py``.
"""

from __future__ import annotations

import re

import pytest
import requests
from sim_calls import DEMO, ID_LINE, NUMBER, OTHER, balance, call, send, sim

from tray_app.core.clock import FakeClock
from tray_app.sim.server import Simulator

__all__ = ["sim"]  # the fixture


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
