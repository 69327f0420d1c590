"""The session keeper: a headless QObject that follows the keep-alive plan (core.session).

It owns the one timer and two worker threads: one for the network, one for
keyring writes, so that a sign-out's clear never waits behind a hung request.
What a ping proves (a later expiry, the same ID) needs no keyring call and is
recorded on the keeper's own thread, so that an idle hour's six pings wake no
thread for their records (see ``_record``).
The event loop (and the tray's menu) stays responsive while a request hangs;
results come back on the keeper's thread and every change goes out as a
signal, so a view only listens.

A request the plan abandons (no answer within ``ABANDON_AFTER``) leaves its
worker to finish on its own; the keeper carries on with a fresh one. At quit,
``stop`` waits up to ``FLUSH_SECONDS`` for the keyring writes still queued, so
a sign-out just before quitting is never lost.

The timer is single-shot and aimed at the plan's next wake (``KeepAlivePlan.next_wake``): at
most a minute apart while a session is kept, on the expiry's minute grid so that the icon's
minute redraw (``ticked``) shares the wake-up, and off while nothing is kept.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from tray_app.core.clock import Clock, SystemClock
from tray_app.core.protocol import ApiError, Command, ErrorCategory
from tray_app.core.redact import SECRET_FILTER, mask_id
from tray_app.core.session import (
    DEFAULT_INTERVAL,
    LIFETIME,
    TICK,
    KeepAlivePlan,
    Outcome,
    Request,
)
from tray_app.core.state import Snapshot
from tray_app.qt.keyring_queue import KeyringQueue
from tray_app.qt.runners import Runner, SyncRunner, ThreadRunner
from tray_app.services.exchange import Attempt, Exchange, NoCredentials, Receipt
from tray_app.services.http_client import ApiClient

if TYPE_CHECKING:
    from tray_app.services.credentials import Credentials, CredentialStore

log = logging.getLogger(__name__)

TICK_SECONDS = TICK
WAKE_MARGIN_MS = 5
"""Added to each wait, so that the tick lands just after the moment it is aimed at, not before."""
FLUSH_SECONDS = 5.0
ClientFactory = Callable[[str], ApiClient]
__all__ = ["Keeper", "NoCredentials", "Runner", "SyncRunner", "ThreadRunner"]


class Keeper(QObject):
    """Keeps one session alive; see :mod:`tray_app.core.session` for the rules it follows."""

    snapshot_changed = Signal(object)
    state_changed = Signal(object)
    session_id_changed = Signal(object)
    deadlines_changed = Signal(object, object)
    error_changed = Signal(object)
    # Shadows QObject.event() for type checkers only: Qt dispatches events in C++.
    event = Signal(object)  # type: ignore[assignment]
    request_sent = Signal(object)
    request_done = Signal(object, object)
    started = Signal(bool)
    forgotten = Signal(object)
    """After forget_credentials: None once the keyring entry is gone, else why it is not."""
    ticked = Signal()
    """The keeper looked at the clock (at least each minute the icon shows): views redraw."""

    def __init__(
        self,
        store: CredentialStore,
        *,
        base_url: str,
        clock: Clock | None = None,
        runner: Runner | None = None,
        keyring_runner: Runner | None = None,
        client_factory: ClientFactory = ApiClient,
        interval: float = DEFAULT_INTERVAL,
        lifetime: float = LIFETIME,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store
        self._clock = clock or SystemClock()
        self._runner = runner or ThreadRunner(self, after_posted_events=True)
        # A given runner (tests pass SyncRunner) serves both, so its order is kept.
        self._keyring = KeyringQueue(
            keyring_runner or runner or ThreadRunner(self, "keeper-keyring")
        )
        self._client_factory = client_factory
        self._base_url = base_url
        self._client: ApiClient | None = None
        self._pending_credentials: Credentials | None = None
        self.account: tuple[str, str] | None = None
        """The api_id and user last known to work, to prefill a sign-in form without the keyring."""
        self._plan = KeepAlivePlan(interval=interval, lifetime=lifetime)
        self._exchange = Exchange(store, self._api, clock=self._clock, lifetime=lifetime)
        self._last = self._plan.snapshot()
        self._wake_at: float | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        # Precise: Qt makes a coarse timer of 20 s or more very coarse (rounded to the second,
        # so up to half a second early), and an early tick would cost a second wake-up.
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self.tick)

    @property
    def snapshot(self) -> Snapshot:
        return self._last

    @property
    def in_flight(self) -> Request | None:
        """The request under way, if any: those who wait for the keeper to settle look here."""
        return self._plan.in_flight

    @property
    def wake_at(self) -> float | None:
        """The wall-clock time the timer is aimed at (it fires a few ms after); None while off."""
        return self._wake_at

    @property
    def interval(self) -> float:
        return self._plan.interval

    @property
    def clock(self) -> Clock:
        """The keeper's time, for those who report when they used the session."""
        return self._clock

    def set_interval(self, seconds: float) -> None:
        self._plan.interval = seconds

    def change_interval(self, seconds: float) -> None:
        """A new ping interval, taking effect now: the next ping is rescheduled at once."""
        self._follow(self._plan.change_interval(seconds, self._clock.wall()))

    def change_server(self, base_url: str) -> None:
        """Another base URL: sign in there (the old session ID belongs to the old server)."""
        if base_url == self._base_url:
            return
        log.info("base URL changed: signing in on the new server")
        self.set_base_url(base_url)
        self._follow(self._plan.change_server(self._clock.wall()))

    @property
    def base_url(self) -> str:
        return self._base_url

    def now(self) -> float:
        """The keeper's wall clock (injected in tests), for views that stamp what they hear."""
        return self._clock.wall()

    def set_base_url(self, base_url: str) -> None:
        """Takes effect from the next request; the old client is closed on the worker."""
        self._base_url = base_url
        old, self._client = self._client, None
        if old is not None:
            self._runner.submit(old.close)

    # What the app and the user ask for.

    def start(self) -> None:
        """Load what the keyring holds (on the worker) and begin."""

        def load() -> tuple[Credentials | None, str | None]:
            return self._store.load(), self._store.load_session_id()

        self._keyring.submit(load, self._loaded)

    def sign_in(self, credentials: Credentials) -> None:
        """Try these credentials; they are stored only once the API accepts them."""
        SECRET_FILTER.add_secret(credentials.password)
        self._pending_credentials = credentials
        self._follow(self._plan.sign_in(self._clock.wall()))

    def sign_out(self) -> None:
        """End the session in this app; the stored credentials and session ID stay.

        The command line may still use the stored session until it idles out, and the next
        Sign in… is prefilled from the keyring.
        """
        self._pending_credentials = None
        self._plan.sign_out()
        self._follow(Outcome())

    def forget_credentials(self) -> None:
        """Sign out and delete what the keyring holds; ``forgotten`` tells how it went."""
        self._pending_credentials = None
        self._plan.forget_credentials()
        self.account = None

        def done(result: object) -> None:
            if isinstance(result, Exception):
                log.warning("could not delete the stored credentials: %s", result)
                self.forgotten.emit(str(result) or type(result).__name__)
            else:
                log.info("stored credentials deleted")
                self.forgotten.emit(None)

        self._keyring.submit(self._store.clear, done)
        self._follow(Outcome())

    def stored_credentials(self, done: Callable[[Credentials | None], None]) -> None:
        """Read the stored credentials on the worker (the keyring may block), then ``done``."""

        def loaded(result: object) -> None:
            done(None if isinstance(result, Exception) else result)  # type: ignore[arg-type]

        self._keyring.submit(self._store.load, loaded)

    def pause(self) -> None:
        self._plan.pause()
        self._follow(Outcome())

    def resume(self) -> None:
        self._follow(self._plan.resume(self._clock.wall()))

    def ping_now(self) -> None:
        self._follow(self._plan.ping_now(self._clock.wall()))

    def fetch_balance(self) -> None:
        self._follow(self._plan.want_balance(self._clock.wall()))

    @Slot(str, float)
    def session_used(self, session_id: str, sent_at: float) -> None:
        """A call sent at ``sent_at`` by someone else (the proxy) used the session: a ping."""
        self._follow(self._plan.session_used(session_id, sent_at, self._clock.wall()))

    @Slot(str)
    def session_gone(self, session_id: str) -> None:
        """Someone else was told the session is gone: sign in again, once however many ask."""
        log.info("session %s reported gone: signing in again", mask_id(session_id))
        self._follow(self._plan.session_gone(session_id, self._clock.wall()))

    def woke_up(self, reason: str = "woke up") -> None:
        """The machine resumed or the network came back: ping within a few seconds."""
        log.info("%s: checking the session", reason)
        self._follow(self._plan.woke_up(self._clock.wall()))

    def stop(self, flush_seconds: float = FLUSH_SECONDS) -> bool:
        """Stop; wait up to ``flush_seconds`` for queued keyring writes. True if they all ran.

        A request still under way is not waited for: nothing it could bring back is worth
        holding the quit for, and its worker thread ends with the process.
        """
        self._timer.stop()
        self._wake_at = None
        self._runner.shutdown()
        flushed = self._keyring.shutdown(wait=flush_seconds)
        if not flushed:
            log.warning("quit before the keyring finished writing")
        return flushed

    @Slot()
    def tick(self) -> None:
        outcome = self._plan.tick(self._clock.wall(), self._clock.monotonic())
        if outcome.abandoned is not None:
            log.warning("no answer to %s; trying again later", outcome.abandoned.command.value)
            self._runner.abandon()
            # The stuck worker may still hold the client; the next request builds its own.
            self._client = None
        self._follow(outcome, ticked=True)

    # Plumbing between the plan, the worker and the signals.

    def _loaded(self, result: object) -> None:
        if isinstance(result, Exception):
            log.warning("could not read the keyring: %s", result)
            result = (None, None)
        assert isinstance(result, tuple)
        credentials, stored_id = result
        has_credentials = credentials is not None
        if credentials is not None:
            self.account = (credentials.api_id, credentials.user)
        if stored_id:
            SECRET_FILTER.add_secret(stored_id)
        now = self._clock.wall()
        self._follow(
            self._plan.start(now, has_credentials=has_credentials, stored_session_id=stored_id)
        )
        self.started.emit(has_credentials)

    def _follow(self, outcome: Outcome, *, ticked: bool = False) -> None:
        """Tell the views (``ticked`` too, after a look at the clock), aim the timer, and send
        the request last.

        Last, because the worker can do nothing until this thread lets go of the interpreter
        (the GIL): woken earlier, it woke to wait for the GIL and had to be woken again. The
        minute redraw that ``ticked`` brings is the longest of these, so it goes before too.
        """
        self._publish()
        for event in outcome.events:
            log.info("%s", event.value)
            self.event.emit(event)
        if ticked:
            self.ticked.emit()
        self._arm_timer()
        if outcome.request is not None:
            self._dispatch(outcome.request)

    def _dispatch(self, request: Request) -> None:
        log.debug("sending %s", request.command)
        self.request_sent.emit(request)
        offered = self._pending_credentials if request.command is Command.AUTH else None
        attempt = Attempt(request.command, request.sent_at, request.session_id, offered)
        send = self._exchange.send
        self._runner.submit(
            lambda: send(attempt), lambda result: self._completed(request, result, attempt)
        )

    def _record(self, attempt: Attempt, result: object) -> None:
        """The store's half of the exchange: here and now when it needs no keyring call and
        nothing is queued before it (a ping's new expiry: one small file write, as a log line
        is), else on the keyring worker, bound to this result now. A ping thus wakes no thread
        for its record."""
        record = self._exchange.record
        if self._keyring.idle and record(attempt, result, at_once=True):
            return
        self._keyring.submit(lambda: record(attempt, result))

    def _api(self) -> ApiClient:
        """The client, built on the worker so that importing requests never delays the GUI."""
        if self._client is None:
            self._client = self._client_factory(self._base_url)
        return self._client

    def _completed(self, request: Request, result: object, attempt: Attempt) -> None:
        if request is not self._plan.in_flight:
            log.debug("late answer to an abandoned %s ignored", request.command)
            return
        now = self._clock.wall()
        answer = result.value if isinstance(result, Receipt) else result
        self.request_done.emit(request, answer)
        # After the listeners heard the answer (the record serves the next start, not this
        # moment), before a request that may follow, whose record must come after this one.
        self._record(attempt, result)
        result = answer
        if isinstance(result, NoCredentials):
            self._follow(self._plan.credentials_missing(request))
            return
        settled = not isinstance(result, ApiError) or not result.retryable
        if request.command is Command.AUTH and settled:
            offered, self._pending_credentials = self._pending_credentials, None
            if offered is not None and not isinstance(result, ApiError):
                self.account = (offered.api_id, offered.user)
        if isinstance(result, Exception) and not isinstance(result, ApiError):
            log.error("unexpected failure during %s: %r", request.command.value, result)
            result = ApiError(
                ErrorCategory.TRANSIENT, f"unexpected error: {result}", request.command
            )
        if isinstance(result, ApiError):
            log.warning("%s failed: %s [%s]", request.command.value, result, result.category)
            if result.raw:
                log.debug("server answered: %r", result.raw)
        assert isinstance(result, str | float | ApiError)
        self._follow(self._plan.completed(request, result, now))

    def _publish(self) -> None:
        snapshot = self._plan.snapshot()
        last, self._last = self._last, snapshot
        if snapshot == last:
            return
        if snapshot.state != last.state:
            log.info("state: %s", snapshot.state.value)
            self.state_changed.emit(snapshot.state)
        if snapshot.session_id != last.session_id:
            log.info("session ID: %s", mask_id(snapshot.session_id))
            self.session_id_changed.emit(snapshot.session_id)
        if (snapshot.expires_at, snapshot.next_ping_at) != (last.expires_at, last.next_ping_at):
            self.deadlines_changed.emit(snapshot.expires_at, snapshot.next_ping_at)
        if snapshot.last_error != last.last_error:
            self.error_changed.emit(snapshot.last_error)
        self.snapshot_changed.emit(snapshot)

    def _arm_timer(self) -> None:
        now = self._clock.wall()
        wake = self._plan.next_wake(now)
        if wake is None:
            self._timer.stop()
            self._wake_at = None
            return
        if wake == self._wake_at and self._timer.isActive():
            return  # already aimed there: a restart cost each ping tens of microseconds
        self._wake_at = wake
        self._timer.start(math.ceil((wake - now) * 1000) + WAKE_MARGIN_MS)
