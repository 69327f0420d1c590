"""The keeper as other threads see it: the live session ID, and two messages back.

The proxy serves each connection on a thread of its own, while the keeper lives on the
Qt thread. This link keeps a copy of the keeper's latest snapshot under a lock (updated
by the keeper's signal), and carries the proxy's news to the keeper as queued calls, so
the keeper is never touched from another thread:

* :meth:`SessionLink.used`: a call used the session and the server took it (a ping).
* :meth:`SessionLink.renewed`: a call found the session gone. The first caller to say
  so for an ID asks the keeper to sign in again; every caller waits for that one new ID.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Qt, Signal, Slot

from tray_app.core.clock import Clock
from tray_app.core.state import Snapshot, State
from tray_app.qt.keeper import Keeper

USE_REPORT_STEP = 1.0
"""Uses of the session are reported at most once a second: the expiry the owner keeps may
then trail the server's by under a second, the safe side (it pings a moment early)."""

SIGN_IN_WAIT = 25.0
"""Longest wait for a sign-in under way: a request's connect and read timeouts, and some."""

_WAITING = frozenset({State.SIGNING_IN, State.ACTIVE, State.RETRYING})
"""States in which a session (or a new one) can still come without the user."""


class SessionLink(QObject):
    """Thread-safe access to the keeper's session for the proxy's threads."""

    _used = Signal(str, float)
    _gone = Signal(str)

    def __init__(self, keeper: Keeper, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.clock: Clock = keeper.clock
        self._changed = threading.Condition()
        self._snapshot = keeper.snapshot
        self._renewing: str | None = None
        self._reported: tuple[str, float] | None = None
        keeper.snapshot_changed.connect(self._update)
        self._used.connect(keeper.session_used, Qt.ConnectionType.QueuedConnection)
        self._gone.connect(keeper.session_gone, Qt.ConnectionType.QueuedConnection)

    @property
    def snapshot(self) -> Snapshot:
        with self._changed:
            return self._snapshot

    def live_id(self, wait: float = SIGN_IN_WAIT) -> str | None:
        """The session ID now; during a sign-in, the one it brings (None if none comes)."""
        with self._changed:
            self._changed.wait_for(
                lambda: self._snapshot.session_id or self._snapshot.state is not State.SIGNING_IN,
                wait,
            )
            return self._snapshot.session_id

    def used(self, session_id: str, sent_at: float) -> None:
        """Tell the keeper a call sent at ``sent_at`` kept this session alive.

        A burst of calls costs the keeper one report a second, not one a call.
        """
        with self._changed:
            last = self._reported
            if last is not None and last[0] == session_id and sent_at < last[1] + USE_REPORT_STEP:
                return
            self._reported = (session_id, sent_at)
        self._used.emit(session_id, sent_at)

    def renewed(self, stale_id: str, wait: float = SIGN_IN_WAIT) -> str | None:
        """The session that replaces ``stale_id``, signing in again once for all who ask.

        None when none comes in time, or the keeper cannot sign in by itself (paused,
        signed out, credentials rejected).
        """
        with self._changed:
            if self._snapshot.session_id == stale_id and self._renewing != stale_id:
                self._renewing = stale_id
                self._gone.emit(stale_id)
            self._changed.wait_for(lambda: self._settled(stale_id), wait)
            session_id = self._snapshot.session_id
            return session_id if session_id != stale_id else None

    def _settled(self, stale_id: str) -> bool:
        return self._snapshot.session_id != stale_id or self._snapshot.state not in _WAITING

    @Slot(object)
    def _update(self, snapshot: Snapshot) -> None:
        with self._changed:
            self._snapshot = snapshot
            if snapshot.session_id != self._renewing:
                self._renewing = None
            self._changed.notify_all()
