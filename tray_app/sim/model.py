"""The simulated accounts and sessions, and the answers of the API commands that use them.

A session ID is 32 lowercase hex characters. It dies ``lifetime`` seconds (on the injected
clock's wall time) after the last request that used it, and a dead session is forgotten, so it
answers ``003`` like one that never existed. Everything here is plain Python behind one lock,
driven by the clock it is given, so tests can run hours of session life in microseconds.
"""

from __future__ import annotations

import math
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from tray_app.core.clock import Clock
from tray_app.core.demo import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER

API_COMMANDS = ("auth", "ping", "getbalance")

ERRORS = {
    "001": "Authentication failed",
    "003": "Session ID expired",
    "004": "Account frozen",
    "005": "Missing session ID",
    "101": "Invalid or missing parameters",
    "108": "Invalid or missing api_id",
}


@dataclass(frozen=True, slots=True)
class Account:
    """An API login the simulator accepts; the password stays out of ``repr`` and so out of logs."""

    api_id: str
    user: str
    password: str = field(repr=False)
    balance: float = 42.5
    frozen: bool = False


@dataclass(slots=True)
class Session:
    account: Account
    last_used: float


def error(code: str) -> tuple[str, str]:
    """The outcome and the body of an ``ERR:`` answer."""
    return f"ERR {code}", f"ERR: {code}, {ERRORS[code]}"


class Model:
    """Accounts and sessions as Clickatell's servers keep them."""

    def __init__(
        self,
        accounts: Iterable[Account] | None,
        clock: Clock,
        *,
        lifetime: float,
        bare_ping_ok: bool,
    ) -> None:
        if not (math.isfinite(lifetime) and lifetime > 0):
            raise ValueError(f"lifetime must be a positive number of seconds, not {lifetime!r}")
        self.lifetime = lifetime
        self.bare_ping_ok = bare_ping_ok
        self._clock = clock
        self._lock = threading.Lock()
        self._accounts: dict[tuple[str, str], Account] = {}
        for account in (
            [Account(DEMO_API_ID, DEMO_USER, DEMO_PASSWORD)] if accounts is None else accounts
        ):
            key = (account.api_id, account.user)
            if key in self._accounts:
                raise ValueError(f"duplicate account: api_id {key[0]!r}, user {key[1]!r}")
            self._accounts[key] = account
        self._api_ids = {api_id for api_id, _ in self._accounts}
        self._sessions: dict[str, Session] = {}

    def expire_all(self) -> None:
        """Forget every session now, as a server restart or a long sleep would."""
        with self._lock:
            self._sessions.clear()

    def session_ids(self) -> list[str]:
        """The sessions still alive now."""
        now = self._clock.wall()
        with self._lock:
            self._forget_expired(now)
            return list(self._sessions)

    def answer(self, command: str, params: dict[str, str]) -> tuple[str, str]:
        """The outcome and the body (without newline) of one API command."""
        now = self._clock.wall()
        with self._lock:
            self._forget_expired(now)
            if command == "auth":
                account = self._login(params)
                if isinstance(account, str):
                    return error(account)
                session_id = secrets.token_hex(16)
                self._sessions[session_id] = Session(account, now)
                return "ok", f"OK: {session_id}"
            if command == "ping":
                session = self._use_session(params, now)
                if isinstance(session, str):
                    return error(session)
                return "ok", "OK:" if self.bare_ping_ok else f"OK: {params['session_id']}"
            if "session_id" in params or not {"api_id", "user", "password"} & params.keys():
                found = self._use_session(params, now)
                account = found if isinstance(found, str) else found.account
            else:
                account = self._login(params)
            if isinstance(account, str):
                return error(account)
            return "ok", f"Credit: {account.balance:.2f}"

    def _login(self, params: dict[str, str]) -> Account | str:
        """The account these credentials open, or the error code the real API would give.

        A frozen account is told only after the password, so a wrong password never learns
        whether an account is frozen.
        """
        user, password, api_id = (params.get(k, "") for k in ("user", "password", "api_id"))
        if not user or not password:
            return "101"
        if api_id not in self._api_ids:
            return "108"
        account = self._accounts.get((api_id, user))
        if account is None or account.password != password:
            return "001"
        if account.frozen:
            return "004"
        return account

    def _use_session(self, params: dict[str, str], now: float) -> Session | str:
        """Find the session and re-arm it, since any call that uses an ID keeps it alive."""
        session_id = params.get("session_id", "")
        if not session_id:
            return "005"
        session = self._sessions.get(session_id)
        if session is None:
            return "003"
        session.last_used = now
        return session

    def _forget_expired(self, now: float) -> None:
        expired = [sid for sid, s in self._sessions.items() if now - s.last_used >= self.lifetime]
        for sid in expired:
            del self._sessions[sid]
