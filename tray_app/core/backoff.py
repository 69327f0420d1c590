"""The keep-alive plan's retry rules: when to try again, and when the end of an outage is news.

Split from :class:`tray_app.core.session.KeepAlivePlan`, which decides *whether* a failure is
one to retry (a transient one, or an abandoned request); this module says *when*:

* Transient failures retry after 5, 10, 20, 40, then every 60 seconds, but
  never later than one minute before the expiry: a request takes at most
  20 s (the client's total deadline), so the last try still lands in time.
  If that last try fails too, the next one is an ``auth`` at the expiry.
* "Back online" is news only after an outage of a minute or more; a blip
  that the 5-second retry mends shows as a moment of amber, not a message.
"""

from __future__ import annotations

RETRY_DELAYS = (5.0, 10.0, 20.0, 40.0, 60.0)
LAST_TRY_MARGIN = 60.0
BACK_ONLINE_AFTER = 60.0


class FailureStreak:
    """The failures in a row since the server last answered, and since when they last."""

    def __init__(self) -> None:
        self._failures = 0
        self._failing_since: float | None = None

    def reset(self) -> None:
        """Start counting afresh (new credentials, a new server): no outage is remembered."""
        self._failures = 0
        self._failing_since = None

    def retry_at(self, now: float, expires_at: float | None) -> float:
        """Count a failure at ``now``; the moment of the next try, for a session dying at
        ``expires_at`` (None: already dead, so no last-try margin applies)."""
        delay = RETRY_DELAYS[min(self._failures, len(RETRY_DELAYS) - 1)]
        self._failures += 1
        if self._failing_since is None:
            self._failing_since = now
        due = now + delay
        if expires_at is not None and now < expires_at:
            last_chance = expires_at - LAST_TRY_MARGIN
            if due > last_chance:
                due = last_chance if now < last_chance else expires_at
        return due

    def recovered(self, now: float) -> bool:
        """The server answered at ``now``: end the streak; True if the outage was long news."""
        long_outage = (
            self._failing_since is not None and now - self._failing_since >= BACK_ONLINE_AFTER
        )
        self.reset()
        return long_outage
