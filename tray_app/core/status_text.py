"""The session's state as a person reads it: the menu's status line, the tooltip, the window.

Two precisions, because the two places are refreshed differently. The menu ticks every
second while it is open, so it shows ``mm:ss``. The tooltip is redrawn only when something
changes and on the keeper's minute tick (an idle tray must not wake every second), so it
shows whole minutes, rounded up like the icon's number: text that is never stale, however
long after the redraw it is read.

While retrying, the reason goes on the line that says when the next try is, so that the
menu's one-line summary says why; a paused session still shows when it expires, because the
server's session goes on counting down.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from tray_app.core.redact import mask_id
from tray_app.core.state import Snapshot, State, minutes_shown, mm_ss

_COUNTING = (State.ACTIVE, State.RETRYING, State.PAUSED)


def _left(seconds: float, *, precise: bool) -> str:
    if precise:
        return mm_ss(seconds)
    minutes = minutes_shown(seconds)
    return f"{minutes} min" if minutes else "now"


def status_lines(snapshot: Snapshot, now: float, *, precise: bool = True) -> list[str]:
    """State and expiry, next ping or retry (with the reason), masked ID, last error."""
    lines = [f"Session: {snapshot.state.value}"]
    if snapshot.expires_at is not None and snapshot.state in _COUNTING:
        lines[0] += f", expires in {_left(snapshot.expires_at - now, precise=precise)}"
    retrying = snapshot.state is State.RETRYING
    if snapshot.next_ping_at is not None:
        verb = "Retry" if retrying else "Next ping"
        line = f"{verb} in {_left(snapshot.next_ping_at - now, precise=precise)}"
        if retrying and snapshot.last_error:
            line += f": {snapshot.last_error}"
        lines.append(line)
    if snapshot.session_id:
        lines.append(f"ID {mask_id(snapshot.session_id)}")
    if snapshot.last_error and not (retrying and snapshot.next_ping_at is not None):
        lines.append(f"Last error: {snapshot.last_error}")
    return lines


def server_name(base_url: str) -> str:
    """The host (and port) a person recognises, without the scheme or a path."""
    parts = urlsplit(base_url)
    return parts.netloc or base_url


def account_line(account: tuple[str, str] | None, base_url: str) -> str:
    """Which account on which server the session belongs to, e.g. for two accounts in use."""
    where = server_name(base_url)
    if account is None:
        return f"Server: {where}"
    api_id, user = account
    return f"Account: {user} (API ID {api_id}) at {where}"


def balance_text(balance: float | None) -> str:
    """The balance entry; it says that a click refreshes it (which keeps the session alive)."""
    shown = "—" if balance is None else f"{balance:g} credits"
    return f"Balance: {shown} (click to refresh)"
