"""The inbox page at ``/sim/``: each recipient's phone with its messages, the sessions, the balance.

Plain HTML and one stylesheet served by the simulator itself, no script and no external
asset, so the page works offline and its Content-Security-Policy can forbid everything else.
It is read-only (no form, no link that changes anything) and reloads itself every
``REFRESH_SECONDS`` with a ``<meta http-equiv="refresh">``. Session IDs are shown masked;
message texts are shown in full, since seeing them is what the page is for.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass

from tray_app.core.redact import mask_id
from tray_app.core.state import mm_ss
from tray_app.sim import codes
from tray_app.sim.model import Model

REFRESH_SECONDS = 2
MAX_PHONES = 50
MAX_PER_PHONE = 20

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_STATUS_CLASS = {
    codes.RECEIVED: "ok",
    codes.AT_GATEWAY: "sent",
    codes.QUEUED: "queued",
    codes.LATER: "queued",
    codes.CANCELLED: "cancelled",
    codes.DELIVERY_ERROR: "failed",
}


@dataclass(frozen=True, slots=True)
class _Shown:
    sender: str
    text: str
    sent_at: float
    status: str
    charge: float
    apimsgid: str


def _phones(model: Model, now: float) -> tuple[list[tuple[str, list[_Shown]]], int]:
    """Recipients, the most recent first, each with its newest messages; and the total."""
    phones: dict[str, list[_Shown]] = {}
    with model.lock:
        total = len(model.messages)
        for message in model.messages.newest_first():
            shown = phones.get(message.to)
            if shown is None:
                if len(phones) >= MAX_PHONES:
                    continue
                shown = phones[message.to] = []
            if len(shown) < MAX_PER_PHONE:
                shown.append(
                    _Shown(
                        message.sender,
                        message.text,
                        message.sent_at,
                        message.status(now, model.lifecycle),
                        message.charge,
                        message.apimsgid,
                    )
                )
    return list(phones.items()), total


def _clock(seconds: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(seconds))


def _message(shown: _Shown) -> str:
    status = f"{shown.status} {codes.STATUSES.get(shown.status, '')}"
    sender = f"from {shown.sender}" if shown.sender else "default sender"
    return (
        f'<li class="msg {_STATUS_CLASS.get(shown.status, "queued")}">'
        f'<p class="text">{html.escape(shown.text)}</p>'
        f'<p class="meta"><span>{html.escape(sender)}</span> · '
        f'<time>{_clock(shown.sent_at)}</time> · <span class="charge">'
        f"{shown.charge:g} credit{'' if shown.charge == 1 else 's'}</span></p>"
        f'<p class="status" title="{shown.apimsgid}">Status {html.escape(status)}</p></li>'
    )


def render(model: Model) -> str:
    """The whole page for this moment."""
    now = model.now()
    phones, total = _phones(model, now)
    balances = model.balances()
    sessions = model.sessions()
    balance_rows = "".join(
        f"<tr><td>{html.escape(api_id)}</td><td>{html.escape(user)}</td>"
        f'<td class="num">{credits:.2f}</td></tr>'
        for (api_id, user), credits in balances.items()
    )
    session_rows = (
        "".join(
            f"<tr><td><code>{html.escape(mask_id(s.session_id))}</code></td>"
            f'<td>{html.escape(s.user)}</td><td class="num">{mm_ss(s.expires_in)}</td></tr>'
            for s in sessions
        )
        or '<tr><td colspan="3" class="none">No live session</td></tr>'
    )
    phone_cards = (
        "".join(
            f'<section class="phone" aria-label="Phone {html.escape(number)}">'
            f'<h2 class="number">{html.escape(number)}</h2><ol class="messages">'
            + "".join(_message(m) for m in shown)
            + "</ol></section>"
            for number, shown in phones
        )
        or '<p class="none">No message yet: send one with <code>sendmsg</code>.</p>'
    )
    kept = f"{total} message{'' if total == 1 else 's'} kept"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>Simulator inbox</title>\n"
        '<link rel="stylesheet" href="/sim/inbox.css">\n</head>\n<body>\n'
        "<header><h1>Simulator inbox</h1>\n"
        "<p>What the local Clickatell API simulator has sent, newest first "
        f"({kept}). Nothing here leaves this machine; callbacks are not posted anywhere. "
        f"The page reloads every {REFRESH_SECONDS} s.</p></header>\n"
        '<div class="side">\n'
        "<section><h2>Balance</h2><table><thead><tr><th>api_id</th><th>user</th>"
        f"<th>credits</th></tr></thead><tbody>{balance_rows}</tbody></table></section>\n"
        "<section><h2>Sessions</h2><table><thead><tr><th>session</th><th>user</th>"
        f"<th>expires in</th></tr></thead><tbody>{session_rows}</tbody></table></section>\n"
        f'</div>\n<main class="phones">{phone_cards}</main>\n</body>\n</html>\n'
    )


CSS = """\
:root { color-scheme: light dark; --bg: #f4f5f7; --card: #fff; --ink: #1d2430; --dim: #5f6b7a;
  --line: #d5dae1; --ok: #2b8a3e; --sent: #1971c2; --queued: #868e96; --failed: #e03131; }
@media (prefers-color-scheme: dark) { :root { --bg: #16191d; --card: #22262c; --ink: #e9ecef;
  --dim: #a5afbb; --line: #3a4048; } }
* { box-sizing: border-box; }
body { margin: 0; padding: 1.5rem; background: var(--bg); color: var(--ink);
  font: 15px/1.4 system-ui, "DejaVu Sans", sans-serif; display: grid; gap: 1.25rem;
  grid-template-columns: minmax(16rem, 22rem) 1fr; grid-template-areas: "head head" "side main"; }
header { grid-area: head; } header h1 { margin: 0 0 .25rem; font-size: 1.5rem; }
header p { margin: 0; color: var(--dim); }
.side { grid-area: side; display: grid; gap: 1rem; align-content: start; }
.side section, .phone { background: var(--card); border: 1px solid var(--line); border-radius: 12px;
  padding: .75rem 1rem; }
h2 { font-size: 1rem; margin: 0 0 .5rem; }
table { width: 100%; border-collapse: collapse; font-size: .9rem; }
th { text-align: left; color: var(--dim); font-weight: 600; }
td, th { padding: .2rem .3rem; border-bottom: 1px solid var(--line); }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.none { color: var(--dim); }
.phones { grid-area: main; display: grid; gap: 1rem; align-content: start; align-items: start;
  grid-template-columns: repeat(auto-fill, minmax(17rem, 1fr)); }
.phone { border-radius: 22px; border-width: 6px 3px 14px; padding-top: .5rem; }
.number { text-align: center; font-variant-numeric: tabular-nums; letter-spacing: .03em;
  border-bottom: 1px solid var(--line); padding-bottom: .4rem; }
.messages { list-style: none; margin: 0; padding: 0; display: grid; gap: .6rem; }
.msg { border-left: 4px solid var(--queued); padding: .35rem .6rem; border-radius: 8px;
  background: var(--bg); }
.msg.ok { border-color: var(--ok); } .msg.sent { border-color: var(--sent); }
.msg.failed { border-color: var(--failed); } .msg.cancelled .text { text-decoration: line-through; }
.text { margin: 0 0 .25rem; white-space: pre-wrap; overflow-wrap: anywhere; }
.meta, .status { margin: 0; font-size: .8rem; color: var(--dim); }
.msg.ok .status { color: var(--ok); } .msg.failed .status { color: var(--failed); }
.status { font-weight: 600; }
@media (max-width: 40rem) { body { grid-template-columns: 1fr;
  grid-template-areas: "head" "side" "main"; } }
"""
