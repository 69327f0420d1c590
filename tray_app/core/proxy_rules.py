"""What the local API proxy accepts, what it sends on, and what an answer proves.

Plain functions, so that the rules are tested without a server. The proxy's URL is
``http://127.0.0.1:PORT/<token>`` (the profile ``default`` implied) or
``http://127.0.0.1:PORT/<token>/<profile>``; an API path follows, as it would follow
``https://api.clickatell.com``: ``/http/<command>`` or ``/utils/<page>``.

Decisions:

* The token is checked before anything else, in constant time: a request without it
  learns nothing, not even whether its path exists.
* Path segments are plain names (letters, digits, ``. _ -``), never ``.`` or ``..`` and
  never percent-encoded, so that no path can climb out of ``/http/`` or ``/utils/`` on the
  way to the API.
* Every call goes on as a form POST, the parameters of the query and the form together:
  the session ID then never lands in a URL or a server's access log. Bytes are kept as
  sent (Latin-1 round trip), whatever the client's encoding.
* ``session_id``, ``api_id``, ``user`` and ``password`` are dropped wherever the client
  put them, and the live session ID goes in their place.
* ``/http/auth`` is not passed on: the owner signs in, and a second session made
  through the proxy is exactly what it exists to avoid.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qsl, urlencode, urlsplit

from tray_app.core.protocol import Command, ErrorCategory, error_in

DEFAULT_PROFILE = "default"
PROFILES = frozenset({DEFAULT_PROFILE})
SECTIONS = frozenset({"http", "utils"})
CREDENTIAL_FIELDS = frozenset({"session_id", "api_id", "user", "password"})
MAX_REQUEST_BODY = 64 * 1024
MAX_ANSWER_BODY = 1024 * 1024
_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$", re.ASCII)
_USING_SESSION = frozenset({ErrorCategory.NO_CREDIT})

Pairs = list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Route:
    """Where a proxied call goes: ``path`` is appended to the API's base URL."""

    profile: str
    path: str
    command: str
    query: str


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request the proxy answers itself, with this status and line."""

    status: int
    reason: str


FORBIDDEN = Refusal(403, "forbidden")


def route(target: str, token: str) -> Route | Refusal:
    """Read a request target (``/<token>/http/ping?…``); a wrong or missing token is 403."""
    parts = urlsplit(target)
    segments = parts.path.split("/")
    if len(segments) < 2 or segments[0] != "" or not hmac.compare_digest(segments[1], token):
        return FORBIDDEN
    rest = segments[2:]
    profile = DEFAULT_PROFILE
    if rest and rest[0] not in SECTIONS:
        profile, rest = rest[0], rest[1:]
        if profile not in PROFILES:
            return Refusal(404, f"no profile {profile!r} (this version has only 'default')")
    if len(rest) < 2 or rest[0] not in SECTIONS or not all(_SEGMENT.match(s) for s in rest[1:]):
        return Refusal(404, "not an API path: use /http/<command> or /utils/<page>")
    if rest == ["http", Command.AUTH.value]:
        return Refusal(404, "auth is not proxied: the proxy signs in for you")
    return Route(profile, "/" + "/".join(rest), rest[-1], parts.query)


def parse_form(raw: bytes | str) -> Pairs:
    """Form fields as sent, byte for byte (Latin-1 in and out keeps any encoding intact)."""
    text = raw.decode("latin-1") if isinstance(raw, bytes) else raw
    return parse_qsl(text, keep_blank_values=True, encoding="latin-1")


def forwarded_form(query: str, form: bytes, session_id: str) -> bytes:
    """The form body to send on: the query's and the form's fields, credentials replaced."""
    pairs = [
        (key, value)
        for key, value in [*parse_form(query), *parse_form(form)]
        if key not in CREDENTIAL_FIELDS
    ]
    pairs.append(("session_id", session_id))
    return urlencode(pairs, encoding="latin-1").encode("latin-1")


class Proof(StrEnum):
    """What an answer to a proxied call says about the session it used."""

    USED = "used"
    """The server took the session: the call worked, or found no credit (as for a ping)."""
    GONE = "gone"
    """The session is gone: sign in again once and retry."""
    NOTHING = "nothing"
    """No telling: a 5xx, a web page, an empty answer, a locked account, or another
    ``ERR`` (the server may have refused the call before it looked at the session, and
    counting it would make the owner's expiry later than the server's)."""


def what_it_proves(status: int, body: bytes) -> Proof:
    """Read an answer the way the keeper reads a ping's: the same codes, the same classify.

    The API answers 200 to everything it understood, errors included; any other status
    is a proxy, a gateway or a fault on the way, and proves nothing.
    """
    if status != 200:
        return Proof.NOTHING
    text = body.decode("utf-8", errors="replace")
    stripped = text.strip()
    if not stripped or stripped.startswith("<"):
        return Proof.NOTHING
    error = error_in(Command.PING, text)
    if error is None or error.category in _USING_SESSION:
        return Proof.USED
    if error.category is ErrorCategory.SESSION_GONE:
        return Proof.GONE
    return Proof.NOTHING
