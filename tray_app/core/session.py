"""The keep-alive decisions in plain Python: given the time and the last result, what next.

Nothing here waits, sleeps or does I/O. :class:`KeepAlivePlan` is told what
happened (a tick of the clock, a request's result, a user's wish) and answers
with the request to send now, if any, and the events worth telling a person.
The Qt keeper owns the timer and the worker thread and simply follows it, so
the rules can be tested with a fake clock over days of schedule in
milliseconds.

Decisions the design left open, taken here:

* Deadlines count from the moment a request was *sent*, the earliest the
  server can have re-armed the session, so the local expiry is never late.
* Transient failures retry with backoff, the last try in time before the expiry; when,
  and when the end of an outage is news, is :mod:`tray_app.core.backoff`'s to say.
* When the expiry has passed locally, the next request is an ``auth``, not a
  ``ping`` that can only fail, and the state is never "active" past it.
* A request with no answer ``ABANDON_AFTER`` seconds after it was sent is abandoned and
  counts as a transient failure (retry with backoff). The client's own deadline (20 s)
  should end it first; this is the guard for whatever else can hang (a name lookup, a
  keyring read before an ``auth``). A late answer to an abandoned request is ignored.
* A session that is gone (003, 005, 001 to a ping) is renewed at once with
  one ``auth``; only if that cannot happen does the state become *expired*.
* Rejected credentials stop everything until the user signs in again or asks
  for a retry; the plan never sends a second ``auth`` on its own.
* ``no credit`` answers still prove the session is alive.
* A call made with the session by someone else (the local API proxy) that the
  server took counts as a ping sent when that call was sent: the expiry and
  the next ping move, never backwards. A call that found the session gone
  renews it with one ``auth``, however many calls found it so.
"""

from __future__ import annotations

from tray_app.core.backoff import FailureStreak
from tray_app.core.clock import SleepDetector
from tray_app.core.explain import describe
from tray_app.core.plan_terms import (  # the vocabulary; callers may import it from here
    ABANDON_AFTER,
    DEFAULT_INTERVAL,
    LIFETIME,
    RESUME_GRACE,
    TICK,
    Event,
    Outcome,
    Request,
    check_interval,
    expiry_after,
)
from tray_app.core.protocol import ApiError, Command, ErrorCategory
from tray_app.core.state import Snapshot, State, next_minute_change

_KEPT = (State.ACTIVE, State.RETRYING, State.SIGNING_IN)
_KEEPING = (State.ACTIVE, State.RETRYING, State.PAUSED)


class KeepAlivePlan:
    """The session state machine; see the module docstring for its rules."""

    def __init__(self, *, interval: float = DEFAULT_INTERVAL, lifetime: float = LIFETIME) -> None:
        self.lifetime = lifetime
        self.interval = interval
        self.state = State.SIGNED_OUT
        self.session_id: str | None = None
        self.expires_at: float | None = None
        self.next_due: float | None = None
        self.last_error: str | None = None
        self.balance: float | None = None
        self.has_credentials = False
        self.in_flight: Request | None = None
        self._streak = FailureStreak()
        self._want_balance = False
        self._sleep = SleepDetector()

    @property
    def interval(self) -> float:
        return self._interval

    @interval.setter
    def interval(self, seconds: float) -> None:
        self._interval = check_interval(seconds, lifetime=self.lifetime)

    def snapshot(self) -> Snapshot:
        keeps_pinging = self.state in (State.ACTIVE, State.RETRYING)
        return Snapshot(
            state=self.state,
            session_id=self.session_id,
            expires_at=self.expires_at if self.session_id else None,
            next_ping_at=self.next_due if keeps_pinging else None,
            last_error=self.last_error,
            balance=self.balance,
        )

    # What the user or the app asks for.

    def start(self, now: float, *, has_credentials: bool, stored_session_id: str | None) -> Outcome:
        """Begin after launch: a stored session may still be alive, so ping it before signing in."""
        self.has_credentials = has_credentials
        if stored_session_id:
            self.session_id = stored_session_id
            self.expires_at = now + self.lifetime
            self.state = State.SIGNING_IN
            return self._due_now(now)
        if has_credentials:
            self.state = State.SIGNING_IN
            return self._due_now(now)
        return Outcome()

    def sign_in(self, now: float) -> Outcome:
        """New credentials are in place: the one moment a rejected account may try again."""
        self.has_credentials = True
        self.state = State.SIGNING_IN
        self.last_error = None
        self._streak.reset()
        self.expires_at = None
        # A request still out (a balance query, a ping) must not swallow this sign-in: its
        # answer is ignored, and the auth goes now.
        self.in_flight = None
        return self._due_now(now)

    def sign_out(self) -> None:
        """End the session here; stored credentials stay, so the next sign-in can reuse them.

        The API has no logout: the server's session lives on until it idles out.
        """
        self._forget_session()
        self.state = State.SIGNED_OUT
        self.last_error = None
        self.next_due = None
        self.balance = None

    def forget_credentials(self) -> None:
        """Sign out and know that nothing is stored to sign in with any more."""
        self.sign_out()
        self.has_credentials = False

    def change_interval(self, seconds: float, now: float) -> Outcome:
        """A new interval counts from the last proof of life, so the next ping moves now.

        Only an active session is rescheduled; while retrying, the retry schedule rules.
        """
        self.interval = seconds
        if self.state is not State.ACTIVE or self.next_due is None or self.expires_at is None:
            return Outcome()
        last_alive = self.expires_at - self.lifetime
        self.next_due = last_alive + seconds
        if now < self.next_due:
            return Outcome()
        return self._due_now(now)

    def change_server(self, now: float) -> Outcome:
        """The base URL changed: the old ID means nothing there, so sign in on the new server.

        A request still out to the old server is forgotten. The change is the user's own act,
        so one ``auth`` may follow even a rejection; a paused or signed-out plan stays so.
        """
        self._forget_session()
        self.balance = None
        self._streak.reset()
        if self.state in (State.SIGNED_OUT, State.PAUSED) or not self.has_credentials:
            self.next_due = None
            if self.state is not State.PAUSED:
                self.state = State.SIGNED_OUT
            return Outcome()
        self.state = State.SIGNING_IN
        self.last_error = None
        return self._due_now(now)

    def pause(self) -> None:
        if self.state in (State.ACTIVE, State.RETRYING, State.SIGNING_IN):
            self.state = State.PAUSED
            self.next_due = None

    def resume(self, now: float) -> Outcome:
        if self.state is not State.PAUSED:
            return Outcome()
        self.state = State.ACTIVE if self.session_id else State.SIGNING_IN
        return self._due_now(now)

    def ping_now(self, now: float) -> Outcome:
        if self.state in (State.SIGNED_OUT, State.PAUSED, State.FAILED):
            return Outcome()
        return self._due_now(now)

    def want_balance(self, now: float) -> Outcome:
        """Ask for the credit; the query keeps the session alive just as a ping does."""
        self._want_balance = True
        if self.session_id and self.state in (State.ACTIVE, State.RETRYING):
            return self._due_now(now)
        return Outcome()

    def woke_up(self, now: float) -> Outcome:
        """After a suspend or when the network returns: ping soon, once the network had a moment."""
        if self.state not in (State.ACTIVE, State.RETRYING) or self.in_flight:
            return Outcome()
        self.next_due = now + RESUME_GRACE
        return Outcome()

    def session_used(self, session_id: str, sent_at: float, now: float) -> Outcome:
        """A call sent at ``sent_at`` elsewhere (the proxy) used the session; the server took it.

        It re-armed the session just as a ping would have, so the expiry and the next ping
        move from ``sent_at``; a use of an ID that is no longer ours changes nothing.
        """
        if session_id != self.session_id or self.state not in _KEEPING:
            return Outcome()
        self.expires_at = max(self.expires_at or sent_at, expiry_after(sent_at, self.lifetime))
        if self.state is State.PAUSED:
            return Outcome()
        events = self._recovered(now)
        self.state = State.ACTIVE
        if not self.in_flight:
            self.next_due = max(self.next_due or sent_at, sent_at + self.interval)
        return Outcome(events=events)

    def session_gone(self, session_id: str, now: float) -> Outcome:
        """A call elsewhere was told this session is gone: sign in again now, once.

        Nothing happens for an ID already replaced, or while an ``auth`` is on its way
        (every caller that found the old ID dead waits for that one).
        """
        if session_id != self.session_id or self.state not in _KEPT:
            return Outcome()
        if self.in_flight is not None and self.in_flight.command is Command.AUTH:
            return Outcome()
        self.expires_at = None
        return self._due_now(now)

    # The passing of time and the results of requests.

    def next_wake(self, now: float) -> float | None:
        """When :meth:`tick` must next be called; None while no session is kept.

        The earliest of: the request that is due, the next change of the minutes shown for a
        counting-down session (on the expiry's minute grid, so that the icon's redraw and the
        tick are one wake-up), and ``TICK`` from now. Signed out, paused, failed or expired,
        nothing counts down and nothing is due, so the keeper sleeps until someone acts.
        """
        paused_alive = self.state is State.PAUSED and self.expires_at is not None
        if (
            self.state not in _KEPT
            and not paused_alive
            and self.next_due is None
            and self.in_flight is None
        ):
            return None
        wake = now + TICK
        if self.next_due is not None and self.in_flight is None:
            wake = min(wake, self.next_due)
        if self.in_flight is not None:
            wake = min(wake, self.in_flight.sent_at + ABANDON_AFTER)
        counting = self.state in _KEEPING and self.session_id
        if counting and self.expires_at is not None:
            wake = min(wake, next_minute_change(self.expires_at, now))
        return max(now, wake)

    def tick(self, wall: float, monotonic: float) -> Outcome:
        """Called on a coarse timer; a suspend since the last tick counts as a wake-up."""
        if self._sleep.slept(wall, monotonic):
            self.woke_up(wall)
        if self.in_flight is not None and wall - self.in_flight.sent_at >= ABANDON_AFTER:
            return self._abandon(self.in_flight, wall)
        if self.state is State.ACTIVE and self.expires_at is not None and wall >= self.expires_at:
            self.state = State.RETRYING
        if self.state is State.PAUSED and self.expires_at is not None and wall >= self.expires_at:
            # Nobody kept it alive: the ID is dead. It is remembered so that Resume, which
            # signs in anew, can say that the ID changed.
            self.expires_at = None
            return Outcome()
        if self.in_flight or self.next_due is None or wall < self.next_due:
            return Outcome()
        return self._send(wall)

    def completed(self, request: Request, result: str | float | ApiError, now: float) -> Outcome:
        """Fold a request's result into the state; ``now`` is when the result arrived."""
        if request is not self.in_flight:
            return Outcome()
        self.in_flight = None
        if isinstance(result, ApiError):
            return self._failed(request, result, now)
        if request.command is Command.BALANCE:
            assert isinstance(result, float)
            self.balance = result
            return self._alive(request, request.session_id, now)
        assert isinstance(result, str)
        return self._alive(request, result, now)

    def credentials_missing(self, request: Request) -> Outcome:
        """The auth could not be sent: no credentials are stored (or the keyring lost them)."""
        if request is self.in_flight:
            self.in_flight = None
        self.has_credentials = False
        self._forget_session()
        self.state = State.EXPIRED if request.session_id else State.SIGNED_OUT
        self.last_error = "No stored credentials: sign in again."
        self.next_due = None
        return Outcome(events=[Event.EXPIRED] if request.session_id else [])

    # Internals.

    def _abandon(self, request: Request, now: float) -> Outcome:
        error = ApiError(
            ErrorCategory.TRANSIENT,
            f"no answer within {ABANDON_AFTER:g} s; gave up on the request",
            request.command,
        )
        outcome = self.completed(request, error, now)
        outcome.abandoned = request
        return outcome

    def _due_now(self, now: float) -> Outcome:
        self.next_due = now
        if self.in_flight:
            return Outcome()
        return self._send(now)

    def _send(self, now: float) -> Outcome:
        """The request due now; a dead session with nobody to sign in again has expired."""
        if self.state in (State.PAUSED, State.FAILED, State.SIGNED_OUT):
            self.next_due = None
            return Outcome()
        session_alive = self.session_id and self.expires_at is not None and now < self.expires_at
        if session_alive:
            command = Command.BALANCE if self._want_balance else Command.PING
            request = Request(command, now, self.session_id)
        elif self.has_credentials:
            request = Request(Command.AUTH, now, self.session_id)
        else:
            self.next_due = None
            if not self.session_id:
                return Outcome()
            self._forget_session()
            self.state = State.EXPIRED
            return Outcome(events=[Event.EXPIRED])
        self.in_flight = request
        self.next_due = None
        return Outcome(request=request)

    def _recovered(self, now: float) -> list[Event]:
        """The server answered: forget the failures; "back online" only after a long outage."""
        self.last_error = None
        return [Event.BACK_ONLINE] if self._streak.recovered(now) else []

    def _alive(self, request: Request, session_id: str | None, now: float) -> Outcome:
        events: list[Event] = []
        recovered = self._recovered(now)
        if request.command is Command.AUTH:
            if request.session_id and session_id != request.session_id:
                events.append(Event.ID_CHANGED)
            elif not request.session_id:
                events.append(Event.SIGNED_IN)
        else:
            events += recovered
        if request.command is Command.BALANCE:
            self._want_balance = False
        self.session_id = session_id
        self.expires_at = expiry_after(request.sent_at, self.lifetime)
        if self.state is State.PAUSED:
            return Outcome(events=events)
        self.state = State.ACTIVE
        self.next_due = request.sent_at + self.interval
        if now < self.next_due:
            return Outcome(events=events)
        sent = self._send(now)
        return Outcome(request=sent.request, events=events + sent.events)

    def _failed(self, request: Request, error: ApiError, now: float) -> Outcome:
        self.last_error = describe(error)
        category = error.category
        if request.command is Command.AUTH and category is ErrorCategory.SESSION_GONE:
            category = ErrorCategory.TRANSIENT
        if category is ErrorCategory.CREDENTIALS_REJECTED:
            self._forget_session()
            self.state = State.FAILED
            self.next_due = None
            return Outcome(events=[Event.REJECTED])
        if category is ErrorCategory.SESSION_GONE:
            self.expires_at = None
            return self._send(now)
        if category is ErrorCategory.NO_CREDIT:
            self.balance = 0.0
            self._want_balance = False
            outcome = self._alive(request, request.session_id, now)
            self.last_error = describe(error)
            outcome.events.append(Event.NO_CREDIT)
            return outcome
        return self._retry_later(now)

    def _retry_later(self, now: float) -> Outcome:
        if self.state is State.PAUSED:
            return Outcome()
        self.next_due = self._streak.retry_at(now, self.expires_at)
        self.state = State.RETRYING
        return Outcome()

    def _forget_session(self) -> None:
        self.session_id = None
        self.expires_at = None
        self.in_flight = None
        self._want_balance = False
