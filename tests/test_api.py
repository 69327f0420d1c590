"""The API client and parser: every error code, every malformed body, every transport failure."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest
from hostile_server import HostileServer, Reply, ok, wait_for_closed
from hypothesis import given, settings
from hypothesis import strategies as st

from tray_app.core.clock import FakeClock
from tray_app.core.protocol import (
    ApiError,
    Command,
    ErrorCategory,
    classify,
    parse_balance_answer,
    parse_session_answer,
    validate_base_url,
)
from tray_app.services.http_client import USER_AGENT, ApiClient, ForwardFailed
from tray_app.sim.server import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER, Simulator

SID = "f6b9af2a2c9e5b18ee2d257e3def5d66"
OTHER_SID = "0123456789abcdef0123456789abcdef"

CODE_CATEGORIES = [
    # (code, command, category)
    (1, Command.AUTH, ErrorCategory.CREDENTIALS_REJECTED),
    (2, Command.AUTH, ErrorCategory.CREDENTIALS_REJECTED),
    (1, Command.PING, ErrorCategory.SESSION_GONE),
    (2, Command.PING, ErrorCategory.SESSION_GONE),
    (1, Command.BALANCE, ErrorCategory.SESSION_GONE),
    (3, Command.PING, ErrorCategory.SESSION_GONE),
    (3, Command.BALANCE, ErrorCategory.SESSION_GONE),
    (5, Command.PING, ErrorCategory.SESSION_GONE),
    (4, Command.AUTH, ErrorCategory.CREDENTIALS_REJECTED),
    (4, Command.PING, ErrorCategory.CREDENTIALS_REJECTED),
    (7, Command.AUTH, ErrorCategory.CREDENTIALS_REJECTED),
    (7, Command.PING, ErrorCategory.CREDENTIALS_REJECTED),
    (108, Command.AUTH, ErrorCategory.CREDENTIALS_REJECTED),
    (901, Command.AUTH, ErrorCategory.TRANSIENT),
    (901, Command.PING, ErrorCategory.TRANSIENT),
    (301, Command.BALANCE, ErrorCategory.NO_CREDIT),
    (302, Command.PING, ErrorCategory.NO_CREDIT),
    (101, Command.AUTH, ErrorCategory.API_ERROR),
    (114, Command.PING, ErrorCategory.API_ERROR),
    (None, Command.PING, ErrorCategory.API_ERROR),
]


@pytest.mark.parametrize(("code", "command", "category"), CODE_CATEGORIES)
def test_each_error_code_maps_to_its_category(
    code: int | None, command: Command, category: ErrorCategory
) -> None:
    assert classify(code, command) is category


@pytest.mark.parametrize(("code", "command", "category"), [c for c in CODE_CATEGORIES if c[0]])
def test_each_error_code_answered_by_the_server_raises_its_category(
    code: int, command: Command, category: ErrorCategory
) -> None:
    body = f"ERR: {code:03d}, Some description\n"
    with pytest.raises(ApiError) as caught:
        if command is Command.BALANCE:
            parse_balance_answer(body)
        else:
            parse_session_answer(command, body, sent_session_id=SID)
    assert caught.value.category is category
    assert caught.value.code == code
    assert caught.value.description == "Some description"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (f"OK: {SID}", SID),
        (f"  OK: {SID}  \r\n", SID),
        (f"\r\n\r\nOK: {SID}\r\nsecond line\r\n", SID),
        (f"\ufeffOK: {SID}\n", SID),
        (f"OK:{SID}", SID),
        (f"ok: {SID}", SID),
    ],
)
def test_auth_accepts_what_real_servers_send(body: str, expected: str) -> None:
    assert parse_session_answer(Command.AUTH, body) == expected


@pytest.mark.parametrize("body", ["OK:", "OK: ", "OK:\r\n", "OK", "  OK:  \n\n"])
def test_bare_ok_from_ping_keeps_the_session_id_sent(body: str) -> None:
    assert parse_session_answer(Command.PING, body, sent_session_id=SID) == SID


def test_ping_echo_is_returned() -> None:
    assert parse_session_answer(Command.PING, f"OK: {SID}", sent_session_id=SID) == SID


def test_ping_answering_another_id_is_refused_as_session_gone() -> None:
    """Not adopted silently: the app signs in again, which announces and stores the new ID."""
    with pytest.raises(ApiError) as caught:
        parse_session_answer(Command.PING, f"OK: {OTHER_SID}", sent_session_id=SID)
    assert caught.value.category is ErrorCategory.SESSION_GONE
    assert OTHER_SID not in caught.value.raw
    assert OTHER_SID not in str(caught.value)


def test_bare_ok_from_auth_is_not_a_session() -> None:
    with pytest.raises(ApiError) as caught:
        parse_session_answer(Command.AUTH, "OK:")
    assert caught.value.category is ErrorCategory.TRANSIENT


@pytest.mark.parametrize(
    ("body", "code", "description"),
    [
        ("ERR: 003, Session ID expired", 3, "Session ID expired"),
        ("ERR: 003 Session ID expired", 3, "Session ID expired"),
        ("ERR:003,Session ID expired", 3, "Session ID expired"),
        ("  ERR: 0003, Session ID expired \r\n", 3, "Session ID expired"),
        ("ERR: 003", 3, "no description given"),
        ("ERR: 130, Maximum MT limit exceeded until 1700000000", 130, None),
        (
            "ERR: This prefix is not currently supported",
            None,
            "This prefix is not currently supported",
        ),
        ("ERR: " + "0" * 5000 + "3, Session ID expired", 3, "Session ID expired"),
        ("ERR: " + "9" * 5000 + ", Huge", None, "Huge"),
    ],
)
def test_err_lines_in_every_shape(body: str, code: int | None, description: str | None) -> None:
    with pytest.raises(ApiError) as caught:
        parse_session_answer(Command.PING, body, sent_session_id=SID)
    assert caught.value.code == code
    if description is not None:
        assert caught.value.description == description


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("", 200),
        ("   \r\n  \n", 200),
        ("<html><body><h1>502 Bad Gateway</h1></body></html>", 502),
        ("<!DOCTYPE html><html>Maintenance</html>", 200),
        ("Service temporarily unavailable", 503),
        (f"OK: {SID}", 500),
        ("Welcome to nginx!", 200),
        ("OK: not-a-session-id!", 200),
        ("Credit: 12.5", 200),
        ("OK: " + "a" * 65, 200),
        ("OK: \u0661\u0662\u0663", 200),
    ],
)
def test_malformed_answers_are_transient_errors(body: str, status: int) -> None:
    with pytest.raises(ApiError) as caught:
        parse_session_answer(Command.PING, body, status, sent_session_id=SID)
    assert caught.value.category is ErrorCategory.TRANSIENT
    assert caught.value.retryable


def test_unparseable_answer_keeps_the_raw_text_masked() -> None:
    body = f"<html>session {SID} password=hunter2</html>"
    with pytest.raises(ApiError) as caught:
        parse_session_answer(Command.PING, body, sent_session_id=SID)
    assert SID not in caught.value.raw
    assert "hunter2" not in caught.value.raw
    assert caught.value.raw.startswith("<html>session f6b9")


@pytest.mark.parametrize(
    ("body", "credit"),
    [
        ("Credit: 12.5", 12.5),
        ("Credits: 123.00\r\n", 123.0),
        ("  Credit:42", 42.0),
        ("Credit: -3.25", -3.25),
    ],
)
def test_balance_accepts_credit_and_credits(body: str, credit: float) -> None:
    assert parse_balance_answer(body) == credit


@pytest.mark.parametrize("body", ["Credit: \u0661.5", "Credit: " + "9" * 400, "Credits: 1e9"])
def test_balance_refuses_numbers_no_server_sends(body: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_balance_answer(body)
    assert caught.value.category is ErrorCategory.TRANSIENT


def test_non_ascii_digits_are_not_an_error_code() -> None:
    with pytest.raises(ApiError) as caught:
        parse_session_answer(Command.PING, "ERR: \u0661\u0662, odd", sent_session_id=SID)
    assert caught.value.code is None


def test_balance_no_credit_error() -> None:
    with pytest.raises(ApiError) as caught:
        parse_balance_answer("ERR: 301, No credit left")
    assert caught.value.category is ErrorCategory.NO_CREDIT


def test_error_message_reads_for_a_person() -> None:
    error = ApiError(ErrorCategory.SESSION_GONE, "Session ID expired", Command.PING, code=3)
    assert str(error) == "ERR 003: Session ID expired"


answers = st.one_of(
    st.text(max_size=200),
    st.builds(
        lambda prefix, rest: prefix + rest,
        st.sampled_from(["OK:", "OK: ", "ERR:", "ERR: ", "Credit:", "Credits: ", "<html>", ""]),
        st.text(max_size=80),
    ),
)


@settings(max_examples=600, deadline=None)
@given(
    body=answers,
    status=st.sampled_from([200, 200, 404, 500, 503]),
    command=st.sampled_from(list(Command)),
)
def test_fuzz_parser_raises_nothing_but_api_error(body: str, status: int, command: Command) -> None:
    try:
        if command is Command.BALANCE:
            value: object = parse_balance_answer(body, status)
            assert isinstance(value, float)
        else:
            value = parse_session_answer(command, body, status, sent_session_id=SID)
            assert isinstance(value, str)
            assert value
    except ApiError as error:
        assert isinstance(error.category, ErrorCategory)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.clickatell.com", "https://api.clickatell.com"),
        ("https://api.clickatell.com/", "https://api.clickatell.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://localhost:1234/", "http://localhost:1234"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ],
)
def test_base_urls_accepted(url: str, expected: str) -> None:
    assert validate_base_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://api.clickatell.com",
        "ftp://127.0.0.1",
        "api.clickatell.com",
        "https://",
        "https://h/?a=1",
    ],
)
def test_base_urls_refused(url: str) -> None:
    with pytest.raises(ValueError):
        validate_base_url(url)


def test_http_base_url_refused_by_client() -> None:
    with pytest.raises(ValueError, match="only allowed for a server on this machine"):
        ApiClient("http://api.clickatell.com")


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as hostile:
        yield hostile


def test_auth_posts_a_form_body_never_a_query_string(server: HostileServer) -> None:
    server.reply = ok(f"OK: {SID}\n")
    client = ApiClient(server.base_url)
    assert client.auth("1000001", "demo", "s3cret&=") == SID
    sent = server.requests[0]
    assert sent.request_line == "POST /http/auth HTTP/1.1"
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert sent.headers["content-length"] == str(len(sent.body))
    assert parse_qs(sent.body.decode()) == {
        "api_id": ["1000001"],
        "user": ["demo"],
        "password": ["s3cret&="],
    }
    assert sent.headers["user-agent"] == USER_AGENT


def test_ping_and_balance_send_the_session_id_in_the_body(server: HostileServer) -> None:
    client = ApiClient(server.base_url)
    server.reply = ok("OK:")
    assert client.ping(SID) == SID
    server.reply = ok("Credit: 7.5")
    assert client.balance(SID) == 7.5
    assert [seen.request_line for seen in server.requests] == [
        "POST /http/ping HTTP/1.1",
        "POST /http/getbalance HTTP/1.1",
    ]
    assert [parse_qs(seen.body.decode()) for seen in server.requests] == [{"session_id": [SID]}] * 2


def test_calls_reuse_one_kept_alive_connection(server: HostileServer) -> None:
    client = ApiClient(server.base_url)
    for _ in range(3):
        assert client.ping(SID) == SID
    assert client.forward("/http/getbalance", b"session_id=x").status == 200
    assert [seen.connection for seen in server.requests] == [0, 0, 0, 0]


def test_a_kept_connection_the_server_closed_is_replaced_and_the_call_sent_once(
    server: HostileServer,
) -> None:
    server.reply = Reply(close_after=True)
    client = ApiClient(server.base_url)
    assert client.ping(SID) == SID
    wait_for_closed(server, 0)
    server.reply = Reply()
    assert client.ping(SID) == SID
    assert [seen.connection for seen in server.requests] == [0, 1]


def test_a_call_the_server_dropped_unanswered_is_not_sent_again(server: HostileServer) -> None:
    """A sendmsg the server read may have been sent: resending it could send the SMS twice."""
    server.reply = Reply(drop=True)
    client = ApiClient(server.base_url)
    with pytest.raises(ForwardFailed, match="cannot reach the server"):
        client.forward("/http/sendmsg", b"to=1&text=hi")
    assert [seen.request_line for seen in server.requests] == ["POST /http/sendmsg HTTP/1.1"]


def test_a_server_that_never_answers_times_out(server: HostileServer) -> None:
    server.reply = Reply(hang=True)
    with pytest.raises(ApiError) as caught:
        ApiClient(server.base_url, read_timeout=0.2).ping(SID)
    assert caught.value.category is ErrorCategory.TRANSIENT
    assert "did not answer in time" in caught.value.description


def test_server_error_status_is_transient(server: HostileServer) -> None:
    server.reply = ok("<html>oops</html>", status="503 Service Unavailable")
    with pytest.raises(ApiError) as caught:
        ApiClient(server.base_url).auth("1", "u", "p")
    assert caught.value.category is ErrorCategory.TRANSIENT
    assert "HTTP 503" in caught.value.description


def test_redirects_are_not_followed(server: HostileServer) -> None:
    server.reply = Reply(status="302 Found", headers={"Location": "http://evil.test/"})
    with pytest.raises(ApiError) as caught:
        ApiClient(server.base_url).ping(SID)
    assert caught.value.category is ErrorCategory.TRANSIENT
    assert len(server.requests) == 1


def test_round_trip_against_the_simulator(clock: FakeClock) -> None:
    with Simulator(clock=clock, lifetime=900) as server:
        client = ApiClient(server.base_url)
        session_id = client.auth(DEMO_API_ID, DEMO_USER, DEMO_PASSWORD)
        assert re.fullmatch(r"[0-9a-f]{32}", session_id)
        clock.advance(899)
        assert client.ping(session_id) == session_id
        assert client.balance(session_id) == 42.5
        clock.advance(901)
        with pytest.raises(ApiError) as gone:
            client.ping(session_id)
        assert (gone.value.code, gone.value.category) == (3, ErrorCategory.SESSION_GONE)
        with pytest.raises(ApiError) as rejected:
            client.auth(DEMO_API_ID, DEMO_USER, "wrong")
        assert (rejected.value.code, rejected.value.category) == (
            1,
            ErrorCategory.CREDENTIALS_REJECTED,
        )
        client.close()


def test_bare_ok_ping_from_the_simulator_keeps_the_id(clock: FakeClock) -> None:
    with Simulator(clock=clock, bare_ping_ok=True) as server:
        client = ApiClient(server.base_url)
        session_id = client.auth(DEMO_API_ID, DEMO_USER, DEMO_PASSWORD)
        assert client.ping(session_id) == session_id
