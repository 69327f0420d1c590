"""The proxy's request reader on bytes: what it takes, and the status of what it refuses."""

from __future__ import annotations

import io

import pytest

from tray_app.core.http_reader import (
    MAX_HEADER_BYTES,
    MAX_HEADERS,
    MAX_LINE,
    BadRequest,
    Request,
    read_request,
)

GET = b"GET /t/http/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def read(raw: bytes) -> Request | None:
    return read_request(io.BytesIO(raw))


def refused(raw: bytes) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        read(raw)
    return caught.value


def test_a_plain_request_is_read_and_the_next_one_follows_on_the_same_stream() -> None:
    stream = io.BytesIO(
        b"POST /t/http/ping?a=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n\r\nb=2" + GET
    )
    first = read_request(stream)
    assert first is not None
    assert (first.method, first.target, first.version) == ("POST", "/t/http/ping?a=1", "HTTP/1.1")
    assert first.headers["content-type"] == "application/x-www-form-urlencoded"
    assert first.content_length(1024) == 3
    assert stream.read(3) == b"b=2"
    second = read_request(stream)
    assert second is not None and second.target == "/t/http/ping"
    assert read_request(stream) is None, "a client that closes between requests is no error"


def test_header_names_are_case_blind_and_values_trimmed() -> None:
    request = read(b"GET / HTTP/1.1\r\nHOST:  h \r\nX-A: 1\r\nx-a: 2\r\n\r\n")
    assert request is not None
    assert request.headers == {"host": "h", "x-a": "1, 2"}


def test_bare_lf_lines_and_leading_empty_lines_are_taken() -> None:
    request = read(b"\r\n\nGET / HTTP/1.1\nHost: h\n\n")
    assert request is not None and request.headers == {"host": "h"}


def test_keep_alive_by_version_and_connection_header() -> None:
    def keeps(version: str, connection: str | None) -> bool:
        extra = f"Connection: {connection}\r\n" if connection else ""
        request = read(f"GET / {version}\r\nHost: h\r\n{extra}\r\n".encode())
        assert request is not None
        return request.keep_alive

    assert keeps("HTTP/1.1", None)
    assert not keeps("HTTP/1.1", "close")
    assert not keeps("HTTP/1.1", "Keep-Alive, Close")
    assert not keeps("HTTP/1.0", None)
    assert keeps("HTTP/1.0", "keep-alive")


def test_http_1_0_needs_no_host() -> None:
    request = read(b"GET /t/http/ping HTTP/1.0\r\n\r\n")
    assert request is not None and request.version == "HTTP/1.0"


def test_bytes_above_ascii_in_the_target_pass_as_latin_1() -> None:
    request = read("GET /t/http/sendmsg?text=héllo HTTP/1.1\r\nHost: h\r\n\r\n".encode())
    assert request is not None
    assert request.target.encode("latin-1") == "/t/http/sendmsg?text=héllo".encode()


@pytest.mark.parametrize(
    "line",
    [
        b"GET /t/http/ping\r\n",  # HTTP/0.9: no version
        b"GET  /t/http/ping HTTP/1.1\r\n",  # two spaces
        b"GET /t/http/ping HTTP/1.1 extra\r\n",
        b"G(T /t/http/ping HTTP/1.1\r\n",  # not a token
        b"GET t/http/ping HTTP/1.1\r\n",  # not a path
        b"GET /t/http/ping\x00 HTTP/1.1\r\n",
        b"GET /t/http/ping HTTP/1.x\r\n",
        b"GET /t/http/ping http/1.1\r\n",
        b"GET /t/http/ping\r HTTP/1.1\r\n",  # a bare CR
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n",  # a TLS hello
    ],
)
def test_a_malformed_request_line_is_400(line: bytes) -> None:
    assert refused(line + b"Host: h\r\n\r\n").status == 400


def test_other_http_versions_are_505() -> None:
    assert refused(b"GET / HTTP/2.0\r\nHost: h\r\n\r\n").status == 505


def test_a_request_line_over_the_cap_is_414() -> None:
    target = b"/" + b"a" * MAX_LINE
    assert refused(b"GET " + target + b" HTTP/1.1\r\nHost: h\r\n\r\n").status == 414


@pytest.mark.parametrize(
    "header",
    [
        b"Host : h\r\n",  # space before the colon (RFC 9112 5.1)
        b"Host\r\n",
        b"Ho st: h\r\n",
        b": h\r\n",
        b"X: a\x00b\r\n",
        b"X: a\rb\r\n",
        b"X: a\r\n continued\r\n",  # obsolete line folding
    ],
)
def test_a_malformed_header_line_is_400(header: bytes) -> None:
    raw = b"GET / HTTP/1.1\r\nHost: h\r\n" + header + b"\r\n"
    if header.startswith(b"Host"):
        raw = b"GET / HTTP/1.1\r\n" + header + b"\r\n"
    assert refused(raw).status == 400


def test_headers_over_the_caps_are_431() -> None:
    long_line = b"X: " + b"a" * MAX_LINE + b"\r\n"
    assert refused(b"GET / HTTP/1.1\r\nHost: h\r\n" + long_line + b"\r\n").status == 431
    many = b"".join(b"X-%d: 1\r\n" % n for n in range(MAX_HEADERS + 1))
    assert refused(b"GET / HTTP/1.1\r\nHost: h\r\n" + many + b"\r\n").status == 431
    lines = MAX_HEADER_BYTES // 4000 + 1
    big = b"".join(b"X-%d: %s\r\n" % (n, b"a" * 4000) for n in range(lines))
    assert refused(b"GET / HTTP/1.1\r\nHost: h\r\n" + big + b"\r\n").status == 431


def test_a_request_cut_short_is_400() -> None:
    assert refused(b"GET / HTTP/1.1\r\nHost: h\r\n").status == 400
    assert refused(b"GET / HTTP/1.1\r\nHo").status == 400
    assert refused(b"GET / HTT").status == 400


def test_http_1_1_needs_exactly_one_host() -> None:
    assert refused(b"GET / HTTP/1.1\r\n\r\n").status == 400
    assert refused(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").status == 400


def head(headers: bytes) -> Request:
    request = read(b"POST / HTTP/1.1\r\nHost: h\r\n" + headers + b"\r\n")
    assert request is not None
    return request


def test_content_length_is_checked_against_the_cap_and_for_shape() -> None:
    assert head(b"").content_length(10) == 0
    assert head(b"Content-Length: 10\r\n").content_length(10) == 10
    assert head(b"Content-Length: 10\r\nContent-Length: 10\r\n").content_length(10) == 10
    with pytest.raises(BadRequest) as over:
        head(b"Content-Length: 11\r\n").content_length(10)
    assert over.value.status == 413
    for value in (b"-1", b"+5", b"1 2", b"0x10", b"", b"1" * 13):
        with pytest.raises(BadRequest) as bad:
            head(b"Content-Length: " + value + b"\r\n").content_length(10)
        assert bad.value.status == 400, value


def test_two_different_lengths_are_400() -> None:
    raw = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"
    assert refused(raw).status == 400


def test_a_chunked_body_is_refused_with_411_even_beside_a_length() -> None:
    for headers in (
        b"Transfer-Encoding: chunked\r\n",
        b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
    ):
        with pytest.raises(BadRequest) as caught:
            head(headers).content_length(10)
        assert caught.value.status == 411


def test_expect_100_continue_is_seen() -> None:
    assert head(b"Expect: 100-Continue\r\n").expects_continue
    assert not head(b"").expects_continue
