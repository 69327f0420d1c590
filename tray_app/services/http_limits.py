"""What every answer from the API must pass, whichever connection brought it.

The client reaches the API two ways (:mod:`tray_app.services.http_client` says which and
why); both hand back a :class:`Reply` and raise :class:`Failed`, and the rules on the
answer live here once: no compression, at most ``max_bytes`` kept, the total deadline,
the charset, and the words a person reads when a call fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tray_app.services.deadline import Deadline

CHUNK = 8192
TIMED_OUT = "the server did not answer in time"
UNREACHABLE = "cannot reach the server"
REFUSED = "cannot reach the server: the connection was refused (is it running?)"
NO_SUCH_HOST = "cannot reach the server: its host name does not resolve (check the base URL)"
TLS_REFUSED = "TLS error: the server's certificate was not accepted"
FAILED = "the request failed"


class Failed(Exception):
    """No usable answer: the description for a person, the raw detail for the log."""

    def __init__(self, description: str, raw: str = "") -> None:
        super().__init__(description)
        self.description = description
        self.raw = raw


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer whose head has arrived: ``read(n)`` gives up to n more body bytes (b"" at
    the end) or raises :class:`Failed`; ``close`` ends it, and its connection if unread."""

    status: int
    content_type: str | None
    content_encoding: str | None
    read: Callable[[int], bytes]
    close: Callable[[], None]


def body_within(reply: Reply, deadline: Deadline, max_bytes: int, seconds: float) -> bytes:
    """At most ``max_bytes`` of the body, or :class:`Failed`: too big, packed, too slow."""
    encoding = (reply.content_encoding or "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise Failed(
            "the server sent a compressed answer, which this app does not accept", encoding[:40]
        )
    chunks: list[bytes] = []
    size = 0
    while chunk := reply.read(CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise Failed(f"the server's answer was larger than {max_bytes // 1024} KiB")
        chunks.append(chunk)
        if deadline.expired:
            break
    if deadline.expired:
        raise Failed(too_slow(seconds))
    return b"".join(chunks)


def too_slow(seconds: float) -> str:
    return f"the server did not answer within {seconds:g} s"


def charset(content_type: str | None) -> str | None:
    """The body's charset as requests reads it: the parameter, else Latin-1 for text/*."""
    if not content_type:
        return None
    kind, *params = (part.strip() for part in content_type.split(";"))
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip("'\"") or None
    if "text" in kind.lower():
        return "ISO-8859-1"
    if kind.lower() == "application/json":
        return "utf-8"
    return None


def decode(body: bytes, encoding: str | None) -> str:
    try:
        return body.decode(encoding or "utf-8", errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")
