"""The API client against a hostile server on 127.0.0.1: nothing hangs, grows or passes for OK.

Each test stages one thing a broken server, proxy or captive portal really sends, with the
hostile server of ``hostile_server.py``; the deadline is shortened where the point is a slow
server, so no test waits for the real 20 s.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hostile_server import GIB, HostileServer, Reply, gzip_bomb, ok

from tray_app.core.protocol import ApiError, ErrorCategory
from tray_app.core.server_text import SERVER_TEXT_LIMIT
from tray_app.services.http_client import MAX_RESPONSE_BYTES, ApiClient

SID = "f6b9af2a2c9e5b18ee2d257e3def5d66"
OTHER_SID = "0123456789abcdef0123456789abcdef"
# Far more than the cap, far less than what the server offered: the client hung up early.
HUNG_UP_EARLY = 64 * 1024 * 1024


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as hostile:
        yield hostile


def failure(client: ApiClient) -> ApiError:
    with pytest.raises(ApiError) as caught:
        client.ping(SID)
    return caught.value


@pytest.mark.parametrize("size", [GIB, None], ids=["1 GiB", "endless"])
def test_a_body_over_the_cap_is_transient_and_not_read_to_its_end(
    server: HostileServer, size: int | None
) -> None:
    server.reply = Reply(body=b"OK: ", size=size, filler=b"0")
    error = failure(ApiClient(server.base_url))
    assert error.category is ErrorCategory.TRANSIENT
    assert f"larger than {MAX_RESPONSE_BYTES // 1024} KiB" in error.description
    server.stop()
    assert server.requests[0].sent < HUNG_UP_EARLY


@pytest.mark.parametrize("reply", [Reply(size=GIB), gzip_bomb()], ids=["1 GiB", "gzip bomb"])
def test_a_redirect_with_a_huge_body_is_not_read_either(
    server: HostileServer, reply: Reply
) -> None:
    """requests reads a redirect's whole body (unpacked) to prepare a next hop nobody takes."""
    reply.status = "302 Found"
    reply.headers["Location"] = f"{server.base_url}/elsewhere"
    server.reply = reply
    error = failure(ApiClient(server.base_url))
    assert error.category is ErrorCategory.TRANSIENT
    server.stop()
    assert server.requests[0].sent < HUNG_UP_EARLY
    assert len(server.requests) == 1


def test_a_body_just_under_the_cap_is_read(server: HostileServer) -> None:
    server.reply = Reply(body=f"OK: {SID}\n".encode(), size=MAX_RESPONSE_BYTES - 64, filler=b" ")
    assert ApiClient(server.base_url).ping(SID) == SID


def test_compression_is_refused_so_a_gzip_bomb_never_inflates(server: HostileServer) -> None:
    server.reply = gzip_bomb()
    error = failure(ApiClient(server.base_url))
    assert error.category is ErrorCategory.TRANSIENT
    assert "compressed" in error.description
    assert server.requests[0].headers["accept-encoding"] == "identity"


@pytest.mark.parametrize(
    "reply",
    [
        Reply(body=f"OK: {SID}".encode(), trickle=0.05),
        Reply(body=f"OK: {SID}".encode(), size=100, filler=b" ", trickle=0.05),
    ],
    ids=["headers a byte at a time", "body a byte at a time"],
)
def test_a_trickling_server_cannot_hold_a_call_past_the_deadline(
    server: HostileServer, reply: Reply
) -> None:
    """Each byte comes well within the read timeout; only the total deadline ends the call."""
    server.reply = reply
    client = ApiClient(server.base_url, read_timeout=5.0, deadline=1.0)
    error = failure(client)
    assert error.category is ErrorCategory.TRANSIENT
    assert error.description == "the server did not answer within 1 s"
    # The same client works again once the server behaves: the broken connection was dropped.
    server.reply = ok(f"OK: {SID}")
    assert client.ping(SID) == SID


def test_a_server_that_never_answers_is_a_read_timeout(server: HostileServer) -> None:
    server.reply = Reply(hang=True)
    error = failure(ApiClient(server.base_url, read_timeout=0.5))
    assert error.category is ErrorCategory.TRANSIENT
    assert "did not answer" in error.description


@pytest.mark.parametrize(
    "status", ["301 Moved Permanently", "302 Found", "401 Unauthorized", "404 Not Found", "407 X"]
)
def test_only_2xx_can_succeed(server: HostileServer, status: str) -> None:
    server.reply = ok(f"OK: {SID}", status=status)
    error = failure(ApiClient(server.base_url))
    assert error.category is ErrorCategory.TRANSIENT
    assert f"HTTP {status.split()[0]}" in error.description
    assert len(server.requests) == 1


def test_a_redirect_is_not_followed(server: HostileServer) -> None:
    with HostileServer(ok(f"OK: {SID}")) as elsewhere:
        server.reply = Reply(status="302 Found", headers={"Location": f"{elsewhere.base_url}/"})
        assert failure(ApiClient(server.base_url)).category is ErrorCategory.TRANSIENT
        assert elsewhere.requests == []


def test_a_ping_answering_another_id_is_not_adopted(server: HostileServer) -> None:
    server.reply = ok(f"OK: {OTHER_SID}")
    error = failure(ApiClient(server.base_url))
    assert error.category is ErrorCategory.SESSION_GONE
    assert OTHER_SID not in f"{error} {error.raw}"


@pytest.mark.parametrize(
    "text",
    [
        "ERR: 114, \x1b]0;owned\x07\x1b[2J\x1b[HCannot route message\r\nOK: fake",
        "ERR: 114, \u009b2J\u202eevil\u202c\x00 Cannot route message",
    ],
    ids=["ESC and CR LF", "C1, bidi and NUL"],
)
def test_error_text_reaches_nobody_with_its_control_characters(
    server: HostileServer, text: str
) -> None:
    server.reply = ok(text)
    error = failure(ApiClient(server.base_url))
    shown = f"{error} {error.raw}"
    assert not any(ord(char) < 32 or 0x7F <= ord(char) < 0xA0 for char in shown)
    assert "\u202e" not in shown
    assert "Cannot route message" in error.description


def test_a_long_error_line_is_capped(server: HostileServer) -> None:
    server.reply = ok("ERR: 114, " + "x" * (MAX_RESPONSE_BYTES - 100))
    error = failure(ApiClient(server.base_url))
    assert error.code == 114
    assert len(error.description) <= SERVER_TEXT_LIMIT
    assert len(error.raw) <= SERVER_TEXT_LIMIT
    assert error.description.endswith("…")


def test_a_loopback_base_url_never_goes_through_a_proxy(
    server: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain-http local server's password must not reach a proxy named in the environment."""
    server.reply = ok(f"OK: {SID}")
    with HostileServer(ok(f"OK: {OTHER_SID}")) as proxy:
        for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
            monkeypatch.setenv(name, proxy.base_url)
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        assert ApiClient(server.base_url).auth("1", "user", "hunter2") == SID
        assert proxy.requests == []
    assert b"hunter2" in server.requests[0].body


def test_a_remote_base_url_goes_through_the_proxy_the_environment_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where a proxy is the only way out, the API is reached through it (a TLS tunnel)."""
    with HostileServer(ok("no tunnel today", status="403 Forbidden")) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.base_url)
        monkeypatch.setenv("https_proxy", proxy.base_url)
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        error = failure(ApiClient("https://api.example.invalid"))
        assert error.category is ErrorCategory.TRANSIENT
        assert [seen.request_line.split()[:2] for seen in proxy.requests] == [
            ["CONNECT", "api.example.invalid:443"]
        ]


def test_connections_are_reused_between_calls(server: HostileServer) -> None:
    server.reply = ok(f"OK: {SID}")
    client = ApiClient(server.base_url)
    assert [client.ping(SID) for _ in range(3)] == [SID] * 3
    assert len(server.requests) == 3
