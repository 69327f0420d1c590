"""A small, strict HTTP/1.1 request reader for the local proxy: bounded, and fast.

``http.server`` parses each request's headers with ``email.parser``, which cost the proxy
more per call than everything else it does on loopback. This reader takes what curl,
Postman and the HTTP libraries send, and nothing looser:

* A request line ``METHOD SP target SP HTTP/1.1`` (or ``HTTP/1.0``), at most ``MAX_LINE``
  bytes (414 above); other versions are 505; empty lines before it are skipped (RFC 9112
  2.2), a handful at most. The target is a path (or an absolute ``http://`` URL) with no
  space or control character; bytes above ASCII pass as Latin-1, as curl sends them
  unencoded, so that the proxy can hand them on byte for byte.
* Header lines ``name: value``, the name a token with no space before the colon, no folded
  (obsolete) continuation lines; at most ``MAX_HEADERS`` of them and ``MAX_HEADER_BYTES``
  in all (431 above). HTTP/1.1 needs exactly one ``Host``.
* A body only by ``Content-Length`` (digits, one value, at most the caller's cap: 413
  above); ``Transfer-Encoding`` (chunked) is refused with 411, which also rules out the
  request smuggling that a length and an encoding together allow.
* Lines end in CRLF; a bare LF is taken too (RFC 9112 2.2 allows it), a bare CR is not.

Anything else is :class:`BadRequest` with its status; the caller answers it and closes the
connection, since what follows a malformed request cannot be trusted to start a new one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

MAX_LINE = 8 * 1024
MAX_HEADERS = 100
MAX_HEADER_BYTES = 32 * 1024
MAX_EMPTY_LINES = 4
VERSIONS = frozenset({"HTTP/1.0", "HTTP/1.1"})
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_VERSION = re.compile(rb"HTTP/[0-9]\.[0-9]")
_DIGITS = re.compile(r"[0-9]{1,12}", re.ASCII)
_TARGET = re.compile(rb"(?:/|https?://)[!-~\x80-\xff]*")
_FIELD_VALUE = re.compile(rb"[\t !-~\x80-\xff]*")


class Lines(Protocol):
    """Where a request is read from: a buffered socket file (or bytes, in the tests)."""

    def readline(self, size: int | None = -1, /) -> bytes: ...


class BadRequest(Exception):
    """A request the reader refuses: answer ``status`` with ``reason``, then close."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Request:
    """One request's head: ``headers`` has lower-case names, repeated ones joined by ", "."""

    method: str
    target: str
    version: str
    headers: dict[str, str]

    @property
    def keep_alive(self) -> bool:
        """HTTP/1.1 keeps the connection unless told ``close``; 1.0 only when asked."""
        tokens = {t.strip().lower() for t in self.headers.get("connection", "").split(",")}
        if self.version == "HTTP/1.1":
            return "close" not in tokens
        return "keep-alive" in tokens and "close" not in tokens

    @property
    def expects_continue(self) -> bool:
        return self.headers.get("expect", "").lower() == "100-continue"

    def content_length(self, cap: int) -> int:
        """The body's length, checked: 411 for a transfer coding, 413 over ``cap``."""
        if "transfer-encoding" in self.headers:
            raise BadRequest(411, "send a Content-Length, not a Transfer-Encoding")
        value = self.headers.get("content-length")
        if value is None:
            return 0
        if not _DIGITS.fullmatch(value):
            raise BadRequest(400, "a Content-Length must be one number")
        length = int(value)
        if length > cap:
            raise BadRequest(413, f"the body must be at most {cap // 1024} KiB")
        return length


def read_request(rfile: Lines) -> Request | None:
    """The next request's head from ``rfile``; None when the client closed between requests."""
    line = _line(rfile, 414, "the request line is too long")
    for _ in range(MAX_EMPTY_LINES):
        if line not in (b"\r\n", b"\n"):
            break
        line = _line(rfile, 414, "the request line is too long")
    if not line:
        return None
    parts = _strip_eol(line).split(b" ")
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or not _TARGET.fullmatch(parts[1]):
        raise BadRequest(400, "malformed request line")
    method, target, version = parts
    if not _VERSION.fullmatch(version):
        raise BadRequest(400, "malformed request line")
    if version.decode() not in VERSIONS:
        raise BadRequest(505, "use HTTP/1.1")
    headers = _headers(rfile)
    request = Request(method.decode(), target.decode("latin-1"), version.decode(), headers)
    if request.version == "HTTP/1.1" and ("host" not in headers or "," in headers["host"]):
        raise BadRequest(400, "an HTTP/1.1 request needs one Host header")
    return request


def _headers(rfile: Lines) -> dict[str, str]:
    headers: dict[str, str] = {}
    total = 0
    for _ in range(MAX_HEADERS + 1):
        line = _line(rfile, 431, "a header line is too long")
        total += len(line)
        if total > MAX_HEADER_BYTES:
            raise BadRequest(431, "the headers are too long")
        if line in (b"\r\n", b"\n"):
            return headers
        if not line:
            raise BadRequest(400, "the request ended inside its headers")
        name, colon, value = _strip_eol(line).partition(b":")
        if not colon or not _TOKEN.fullmatch(name):
            raise BadRequest(400, "malformed header line")
        value = value.strip(b" \t")
        if not _FIELD_VALUE.fullmatch(value):
            raise BadRequest(400, "malformed header value")
        key = name.decode().lower()
        text = value.decode("latin-1")
        if key in headers:
            if key == "content-length" and headers[key] != text:
                raise BadRequest(400, "two different Content-Length headers")
            if key != "content-length":
                text = f"{headers[key]}, {text}"
        headers[key] = text
    raise BadRequest(431, "too many header lines")


def _line(rfile: Lines, status: int, reason: str) -> bytes:
    line = rfile.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise BadRequest(status, reason)
    return line


def _strip_eol(line: bytes) -> bytes:
    """The line without its end: CRLF or a bare LF; a line cut short or a stray CR is refused."""
    if line.endswith(b"\r\n"):
        line = line[:-2]
    elif line.endswith(b"\n"):
        line = line[:-1]
    else:
        raise BadRequest(400, "the request ended inside a line")
    if b"\r" in line:
        raise BadRequest(400, "a bare CR in the request")
    return line
