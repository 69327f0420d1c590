"""The keep-alive rules, driven by hand with plain numbers for time."""

from __future__ import annotations

import itertools

import pytest

from tray_app.core.backoff import BACK_ONLINE_AFTER, LAST_TRY_MARGIN
from tray_app.core.protocol import ApiError, Command, ErrorCategory
from tray_app.core.session import (
    ABANDON_AFTER,
    RESUME_GRACE,
    TICK,
    Event,
    KeepAlivePlan,
    Outcome,
    Request,
)
from tray_app.core.state import State

SID = "a" * 32
NEW_SID = "b" * 32
T0 = 1_800_000_000.0


def error(category: ErrorCategory, command: Command = Command.PING, code: int | None = None):
    return ApiError(category, "test", command, code=code)


def sent(outcome: Outcome) -> Request:
    assert outcome.request is not None, "expected a request to be sent"
    return outcome.request


def signed_in(plan: KeepAlivePlan, now: float = T0) -> None:
    auth = sent(plan.sign_in(now))
    assert auth.command is Command.AUTH
    plan.completed(auth, SID, now)


def test_fresh_plan_without_credentials_does_nothing() -> None:
    plan = KeepAlivePlan()
    outcome = plan.start(T0, has_credentials=False, stored_session_id=None)
    assert outcome.request is None
    assert plan.state is State.SIGNED_OUT
    assert plan.tick(T0 + 3600, 3600).request is None


def test_sign_in_then_deadlines_follow_the_auth() -> None:
    plan = KeepAlivePlan()
    outcome = plan.sign_in(T0)
    auth = sent(outcome)
    assert plan.state is State.SIGNING_IN
    done = plan.completed(auth, SID, T0 + 2)
    assert done.events == [Event.SIGNED_IN]
    assert plan.state is State.ACTIVE
    assert plan.expires_at == T0 + 15 * 60
    assert plan.next_due == T0 + 10 * 60
    snapshot = plan.snapshot()
    assert snapshot.session_id == SID
    assert snapshot.next_ping_at == T0 + 600


def test_ping_is_due_at_the_interval_not_before() -> None:
    plan = KeepAlivePlan(interval=120)
    signed_in(plan)
    assert plan.tick(T0 + 119, 119).request is None
    ping = sent(plan.tick(T0 + 120, 120))
    assert ping.command is Command.PING
    assert ping.session_id == SID
    plan.completed(ping, SID, T0 + 121)
    assert plan.expires_at == T0 + 120 + 15 * 60
    assert plan.next_due == T0 + 240


def test_only_one_request_in_flight() -> None:
    plan = KeepAlivePlan()
    signed_in(plan)
    first = sent(plan.ping_now(T0 + 10))
    assert plan.ping_now(T0 + 11).request is None
    assert plan.tick(T0 + 700, 700).request is None
    plan.completed(first, SID, T0 + 12)


def test_stored_session_is_pinged_before_signing_in() -> None:
    plan = KeepAlivePlan()
    ping = sent(plan.start(T0, has_credentials=True, stored_session_id=SID))
    assert ping.command is Command.PING
    assert plan.completed(ping, SID, T0).events == []
    assert plan.state is State.ACTIVE


def test_stored_session_gone_signs_in_once_and_reports_the_new_id() -> None:
    plan = KeepAlivePlan()
    ping = sent(plan.start(T0, has_credentials=True, stored_session_id=SID))
    auth = sent(plan.completed(ping, error(ErrorCategory.SESSION_GONE, code=3), T0))
    assert auth.command is Command.AUTH
    assert plan.completed(auth, NEW_SID, T0 + 1).events == [Event.ID_CHANGED]
    assert plan.session_id == NEW_SID


@pytest.mark.parametrize("code", [3, 5, 1])
def test_session_gone_signs_in_again_at_once(code: int) -> None:
    plan = KeepAlivePlan()
    signed_in(plan)
    ping = sent(plan.tick(T0 + 600, 600))
    auth = sent(plan.completed(ping, error(ErrorCategory.SESSION_GONE, code=code), T0 + 601))
    assert auth.command is Command.AUTH
    outcome = plan.completed(auth, NEW_SID, T0 + 602)
    assert outcome.events == [Event.ID_CHANGED]
    assert plan.state is State.ACTIVE


def test_session_gone_without_credentials_is_expired() -> None:
    plan = KeepAlivePlan()
    ping = sent(plan.start(T0, has_credentials=False, stored_session_id=SID))
    outcome = plan.completed(ping, error(ErrorCategory.SESSION_GONE, code=3), T0)
    assert outcome.request is None
    assert outcome.events == [Event.EXPIRED]
    assert plan.state is State.EXPIRED
    assert plan.session_id is None


def test_rejected_credentials_stop_everything() -> None:
    plan = KeepAlivePlan()
    auth = sent(plan.sign_in(T0))
    rejected = error(ErrorCategory.CREDENTIALS_REJECTED, Command.AUTH, code=1)
    outcome = plan.completed(auth, rejected, T0)
    assert outcome.events == [Event.REJECTED]
    assert outcome.request is None
    assert plan.state is State.FAILED
    assert plan.last_error == "The API ID, username or password is wrong (ERR 001)"
    for minute in range(1, 24 * 60):
        assert plan.tick(T0 + minute * 60, minute * 60).request is None
    assert plan.ping_now(T0 + 90_000).request is None
    assert sent(plan.sign_in(T0 + 90_001)).command is Command.AUTH


def test_transient_failures_back_off_and_try_last_before_expiry() -> None:
    plan = KeepAlivePlan()
    signed_in(plan)
    now = T0 + 600
    attempts = []
    request = sent(plan.tick(now, now - T0))
    while True:
        attempts.append(request.sent_at)
        plan.completed(request, error(ErrorCategory.TRANSIENT), request.sent_at)
        assert plan.state is State.RETRYING
        request = sent(plan.tick(plan.next_due, plan.next_due - T0))
        if request.command is Command.AUTH:
            attempts.append(request.sent_at)
            break
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert gaps[:4] == [5, 10, 20, 40]
    assert attempts[-2] == plan.expires_at - LAST_TRY_MARGIN
    assert attempts[-1] == plan.expires_at
    assert len(attempts) >= 8


def test_a_blip_mended_by_the_first_retry_is_not_news() -> None:
    plan = KeepAlivePlan()
    signed_in(plan)
    ping = sent(plan.tick(T0 + 600, 600))
    plan.completed(ping, error(ErrorCategory.TRANSIENT), T0 + 601)
    assert plan.state is State.RETRYING
    retry = sent(plan.tick(plan.next_due, plan.next_due - T0))
    assert plan.completed(retry, SID, retry.sent_at).events == []
    assert plan.state is State.ACTIVE


def test_back_online_after_an_outage_of_a_minute_once() -> None:
    plan = KeepAlivePlan()
    signed_in(plan)
    request = sent(plan.tick(T0 + 600, 600))
    while request.sent_at < T0 + 600 + BACK_ONLINE_AFTER:
        plan.completed(request, error(ErrorCategory.TRANSIENT), request.sent_at)
        request = sent(plan.tick(plan.next_due, plan.next_due - T0))
    assert plan.completed(request, SID, request.sent_at).events == [Event.BACK_ONLINE]
    ping = sent(plan.tick(plan.next_due, plan.next_due - T0))
    assert plan.completed(ping, SID, ping.sent_at).events == []


def test_past_the_expiry_the_next_request_is_auth() -> None:
    plan = KeepAlivePlan()
    signed_in(plan)
    plan.pause()
    assert plan.state is State.PAUSED
    assert plan.tick(T0 + 3600, 3600).request is None
    auth = sent(plan.resume(T0 + 3600))
    assert auth.command is Command.AUTH
    assert plan.completed(auth, NEW_SID, T0 + 3601).events == [Event.ID_CHANGED]


@pytest.mark.parametrize(
    "result", [SID, ApiError(ErrorCategory.TRANSIENT, "timed out", Command.PING)]
)
def test_pausing_while_a_request_is_in_flight_stays_paused(result: object) -> None:
    plan = KeepAlivePlan()
    signed_in(plan)
    ping = sent(plan.ping_now(T0 + 60))
    plan.pause()
    plan.completed(ping, result, T0 + 61)
    assert plan.state is State.PAUSED
    assert plan.next_due is None
    assert plan.tick(T0 + 3600, 3600).request is None


def test_resume_within_lifetime_pings() -> None:
    plan = KeepAlivePlan()
    signed_in(plan)
    plan.pause()
    assert sent(plan.resume(T0 + 60)).command is Command.PING


def test_clock_jump_schedules_a_ping_after_a_grace() -> None:
    plan = KeepAlivePlan()
    signed_in(plan)
    plan.tick(T0 + 100, 100)
    outcome = plan.tick(T0 + 100 + 300, 115)
    assert outcome.request is None
    assert plan.next_due == T0 + 400 + RESUME_GRACE
    ping = sent(plan.tick(T0 + 400 + RESUME_GRACE, 120))
    assert ping.command is Command.PING


def test_clock_jump_past_expiry_signs_in_on_the_next_tick() -> None:
    plan = KeepAlivePlan()
    signed_in(plan)
    plan.tick(T0 + 100, 100)
    plan.tick(T0 + 7200, 115)
    auth = sent(plan.tick(T0 + 7200 + RESUME_GRACE, 120))
    assert auth.command is Command.AUTH
    assert plan.completed(auth, NEW_SID, T0 + 7206).events == [Event.ID_CHANGED]


def test_balance_keeps_the_session_alive() -> None:
    plan = KeepAlivePlan()
    signed_in(plan)
    query = sent(plan.want_balance(T0 + 300))
    assert query.command is Command.BALANCE
    plan.completed(query, 12.5, T0 + 301)
    assert plan.balance == 12.5
    assert plan.expires_at == T0 + 300 + 900
    assert plan.next_due == T0 + 300 + 600
    assert sent(plan.tick(T0 + 900, 900)).command is Command.PING


def test_no_credit_is_a_warning_not_a_failure() -> None:
    plan = KeepAlivePlan()
    signed_in(plan)
    query = sent(plan.want_balance(T0 + 60))
    outcome = plan.completed(query, error(ErrorCategory.NO_CREDIT, Command.BALANCE, 301), T0 + 61)
    assert outcome.events == [Event.NO_CREDIT]
    assert plan.state is State.ACTIVE
    assert plan.balance == 0.0


def test_sign_out_forgets_the_session() -> None:
    plan = KeepAlivePlan()
    signed_in(plan)
    plan.sign_out()
    assert plan.snapshot().session_id is None
    assert plan.state is State.SIGNED_OUT
    assert plan.tick(T0 + 3600, 3600).request is None


def test_stale_results_are_ignored() -> None:
    plan = KeepAlivePlan()
    signed_in(plan)
    ping = sent(plan.ping_now(T0 + 5))
    plan.sign_out()
    assert plan.completed(ping, SID, T0 + 6).events == []
    assert plan.state is State.SIGNED_OUT


@pytest.mark.parametrize("seconds", [0, 900, 1000])
def test_interval_must_be_under_the_lifetime(seconds: float) -> None:
    with pytest.raises(ValueError):
        KeepAlivePlan(interval=seconds)


def test_an_active_session_wakes_on_the_expiry_minute_grid() -> None:
    """One wake-up a minute: exactly when the icon's minutes change, never in between."""
    plan = KeepAlivePlan()
    signed_in(plan)
    assert plan.next_wake(T0) == T0 + 60
    assert plan.next_wake(T0 + 20) == T0 + 60
    assert plan.next_wake(T0 + 60) == T0 + 120
    assert plan.next_wake(T0 + 599.5) == T0 + 600  # also the ping's due time


def test_a_due_retry_wakes_before_the_minute() -> None:
    plan = KeepAlivePlan()
    signed_in(plan)
    ping = sent(plan.tick(T0 + 600, 600))
    plan.completed(ping, error(ErrorCategory.TRANSIENT), T0 + 600)
    assert plan.next_wake(T0 + 600) == T0 + 605


def test_a_request_in_flight_still_gets_a_tick_and_the_watchdog_comes_first() -> None:
    plan = KeepAlivePlan()
    sent(plan.sign_in(T0))
    assert ABANDON_AFTER < TICK
    assert plan.next_wake(T0) == T0 + ABANDON_AFTER


@pytest.mark.parametrize("how", ["signed out", "paused", "failed", "expired"])
def test_nothing_kept_means_no_wake_up(how: str) -> None:
    plan = KeepAlivePlan()
    if how != "signed out":
        signed_in(plan)
    if how == "paused":
        plan.pause()
        plan.tick(T0 + 3600, 3600)  # the server's session died while paused
    elif how == "failed":
        auth = sent(plan.sign_in(T0 + 1))
        plan.completed(auth, error(ErrorCategory.CREDENTIALS_REJECTED, Command.AUTH), T0 + 1)
    elif how == "expired":
        plan.has_credentials = False
        plan.tick(T0 + 3600, 3600)
    assert plan.state.value == how
    assert plan.next_wake(T0 + 3600) is None


def test_a_use_elsewhere_moves_expiry_and_next_ping_from_when_it_was_sent() -> None:
    plan = KeepAlivePlan()
    signed_in(plan)
    assert plan.session_used(SID, T0 + 300, T0 + 301).request is None
    assert plan.expires_at == T0 + 300 + 15 * 60
    assert plan.next_due == T0 + 300 + 10 * 60
    plan.session_used(SID, T0 + 200, T0 + 302)
    assert plan.expires_at == T0 + 300 + 15 * 60, "a late report never moves a deadline back"
    plan.session_used(NEW_SID, T0 + 400, T0 + 401)
    assert plan.next_due == T0 + 300 + 10 * 60, "a use of another ID changes nothing"


def test_a_use_elsewhere_while_paused_moves_only_the_expiry() -> None:
    plan = KeepAlivePlan()
    signed_in(plan)
    plan.pause()
    plan.session_used(SID, T0 + 300, T0 + 300)
    assert plan.state is State.PAUSED
    assert plan.expires_at == T0 + 300 + 15 * 60
    assert plan.next_due is None


def test_a_use_elsewhere_ends_retrying() -> None:
    plan = KeepAlivePlan()
    signed_in(plan)
    ping = sent(plan.tick(T0 + 600, 600))
    plan.completed(ping, error(ErrorCategory.TRANSIENT), T0 + 601)
    assert plan.state is State.RETRYING
    plan.session_used(SID, T0 + 602, T0 + 602)
    assert plan.state is State.ACTIVE
    assert plan.last_error is None
    assert plan.next_due == T0 + 602 + 10 * 60


def test_session_gone_elsewhere_signs_in_once() -> None:
    plan = KeepAlivePlan()
    signed_in(plan)
    auth = sent(plan.session_gone(SID, T0 + 60))
    assert auth.command is Command.AUTH
    assert plan.session_gone(SID, T0 + 61).request is None, "one auth for every caller"
    done = plan.completed(auth, NEW_SID, T0 + 62)
    assert done.events == [Event.ID_CHANGED]
    assert plan.session_gone(SID, T0 + 63).request is None, "the old ID was replaced already"


def test_session_gone_elsewhere_while_paused_waits_for_the_user() -> None:
    plan = KeepAlivePlan()
    signed_in(plan)
    plan.pause()
    assert plan.session_gone(SID, T0 + 60).request is None
    assert plan.state is State.PAUSED


def test_a_sign_in_while_a_request_is_out_is_sent_at_once_and_not_swallowed() -> None:
    plan = KeepAlivePlan()
    signed_in(plan)
    balance = sent(plan.want_balance(T0 + 5))
    auth = sent(plan.sign_in(T0 + 6))
    assert auth.command is Command.AUTH
    assert plan.completed(balance, 42.0, T0 + 7).request is None
    assert plan.in_flight is auth
