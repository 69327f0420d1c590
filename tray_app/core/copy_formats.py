"""What "Copy as…" puts on the clipboard: the ID in the shapes tools want, and curl commands.

Every command sends its parameters as a form (``--data``), never in the URL, as the app
does itself. The ``sendmsg`` commands carry a placeholder recipient, ``PHONE_NUMBER``, to
be replaced before running (nothing sends a message by accident). Through the proxy the
commands carry no ID at all: the proxy's URL holds the launch's token instead.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from tray_app.core.redact import mask_id

PLACEHOLDER_NUMBER = "PHONE_NUMBER"
SAMPLE_TEXT = "Hello from curl"


@dataclass(frozen=True, slots=True)
class CopyFormat:
    """One entry of the menu: its label, and the text it copies."""

    key: str
    label: str
    text: str


def _curl(url: str, path: str, fields: list[str]) -> str:
    options = " ".join(f"--data-urlencode {shlex.quote(field)}" for field in fields)
    empty = "" if fields else "--data '' "
    return f"curl {empty}{options}{' ' if options else ''}{shlex.quote(url + path)}".strip()


def _message_fields() -> list[str]:
    return [f"to={PLACEHOLDER_NUMBER}", f"text={SAMPLE_TEXT}"]


def session_formats(session_id: str, base_url: str) -> list[CopyFormat]:
    """The ID itself, as a form field, and curl commands with it filled in."""
    field = f"session_id={session_id}"
    return [
        CopyFormat("id", "Session ID", session_id),
        CopyFormat("field", "session_id=…", field),
        CopyFormat("curl-ping", "curl: ping", _curl(base_url, "/http/ping", [field])),
        CopyFormat(
            "curl-balance", "curl: getbalance", _curl(base_url, "/http/getbalance", [field])
        ),
        CopyFormat(
            "curl-sendmsg",
            "curl: sendmsg",
            _curl(base_url, "/http/sendmsg", [field, *_message_fields()]),
        ),
    ]


def masked_proxy_url(proxy_url: str) -> str:
    """The proxy's URL to show, its token masked like an ID: ``http://127.0.0.1:8080/Ab3x…9Qz_``."""
    base, _, token = proxy_url.rpartition("/")
    return f"{base}/{mask_id(token)}"


def proxy_formats(proxy_url: str) -> list[CopyFormat]:
    """The proxy's URL and the same curl commands through it, with no session ID."""
    return [
        CopyFormat("proxy-url", "Proxy URL", proxy_url),
        CopyFormat("proxy-ping", "curl via proxy: ping", _curl(proxy_url, "/http/ping", [])),
        CopyFormat(
            "proxy-balance",
            "curl via proxy: getbalance",
            _curl(proxy_url, "/http/getbalance", []),
        ),
        CopyFormat(
            "proxy-sendmsg",
            "curl via proxy: sendmsg",
            _curl(proxy_url, "/http/sendmsg", _message_fields()),
        ),
    ]
