"""The simulated accounts, sessions, credits and messages: the state behind every answer.

A session ID is 32 lowercase hex characters. It dies ``lifetime`` seconds (on the injected
clock's wall time) after the last request that used it, and a dead session is forgotten, so it
answers ``003`` like one that never existed. Each account has a balance in credits that
messages use up (``charge`` credits a part) and that ``top_up`` refills. Everything here is
plain Python behind one lock (``Model.lock``, held by ``commands.answer`` for a whole command),
driven by the clock it is given, so tests run hours of session and message life in
microseconds.

Bounded, so that a simulator left running for weeks does not grow: at most
``max_messages`` messages (oldest dropped first) and ``MAX_SESSIONS`` live sessions (the
least recently used dropped first, as if it had expired).
"""

from __future__ import annotations

import math
import random
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from tray_app.core.clock import Clock
from tray_app.core.demo import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER
from tray_app.sim.codes import ApiError
from tray_app.sim.messages import DEFAULT_MAX_MESSAGES, Lifecycle, MessageStore

MAX_SESSIONS = 10_000
CREDENTIALS = ("api_id", "user", "password")

AccountKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Account:
    """An API login the simulator accepts; the password stays out of ``repr`` and so out of logs.

    ``balance`` is the opening balance; the live one is the model's.
    """

    api_id: str
    user: str
    password: str = field(repr=False)
    balance: float = 42.5
    frozen: bool = False

    @property
    def key(self) -> AccountKey:
        return (self.api_id, self.user)


@dataclass(slots=True)
class Session:
    account: Account
    last_used: float


@dataclass(frozen=True, slots=True)
class SessionView:
    """What the inbox shows of a session: never the whole ID."""

    session_id: str
    user: str
    expires_in: float


def check_finite(name: str, value: float, *, minimum: float = 0.0) -> None:
    if not (math.isfinite(value) and value >= minimum):
        raise ValueError(f"{name} must be a finite number >= {minimum:g}, not {value!r}")


def check_share(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, not {value!r}")


class Model:
    """Accounts, sessions, balances and messages as Clickatell's servers keep them."""

    def __init__(
        self,
        accounts: Iterable[Account] | None,
        clock: Clock,
        *,
        lifetime: float,
        bare_ping_ok: bool,
        charge: float = 1.0,
        failure_rate: float = 0.0,
        lifecycle: Lifecycle | None = None,
        max_messages: int = DEFAULT_MAX_MESSAGES,
        seed: int | None = None,
    ) -> None:
        if not (math.isfinite(lifetime) and lifetime > 0):
            raise ValueError(f"lifetime must be a positive number of seconds, not {lifetime!r}")
        check_finite("charge", charge)
        check_share("failure_rate", failure_rate)
        self.lifetime = lifetime
        self.bare_ping_ok = bare_ping_ok
        self.charge = charge
        self.failure_rate = failure_rate
        self.lifecycle = lifecycle or Lifecycle()
        self.messages = MessageStore(max_messages)
        self.lock = threading.Lock()
        self._clock = clock
        self._random = random.Random(seed)
        self._accounts: dict[AccountKey, Account] = {}
        for account in (
            [Account(DEMO_API_ID, DEMO_USER, DEMO_PASSWORD)] if accounts is None else accounts
        ):
            if account.key in self._accounts:
                raise ValueError(
                    f"duplicate account: api_id {account.api_id!r}, user {account.user!r}"
                )
            check_finite("balance", account.balance, minimum=-math.inf)
            self._accounts[account.key] = account
        self._api_ids = {api_id for api_id, _ in self._accounts}
        self._balances = {key: account.balance for key, account in self._accounts.items()}
        self._sessions: dict[str, Session] = {}

    def now(self) -> float:
        return self._clock.wall()

    # Sessions and credentials. Callers hold ``lock``.

    def sign_in(self, params: dict[str, str], now: float) -> str:
        """A new session ID for these credentials."""
        account = self.login(params)
        self._forget_expired(now)
        session_id = secrets.token_hex(16)
        self._sessions[session_id] = Session(account, now)
        while len(self._sessions) > MAX_SESSIONS:
            del self._sessions[next(iter(self._sessions))]
        return session_id

    def login(self, params: dict[str, str]) -> Account:
        """The account these credentials open, or the error the real API would give.

        A frozen account is told only after the password, so a wrong password never learns
        whether an account is frozen.
        """
        user, password, api_id = (params.get(k, "") for k in ("user", "password", "api_id"))
        if not user or not password:
            raise ApiError("101")
        if api_id not in self._api_ids:
            raise ApiError("108")
        account = self._accounts.get((api_id, user))
        if account is None or not secrets.compare_digest(
            account.password.encode(), password.encode()
        ):
            raise ApiError("001")
        if account.frozen:
            raise ApiError("004")
        return account

    def use_session(self, params: dict[str, str], now: float) -> Session:
        """Find the session and re-arm it, since any call that uses an ID keeps it alive."""
        self._forget_expired(now)
        session_id = params.get("session_id", "")
        if not session_id:
            raise ApiError("005")
        session = self._sessions.pop(session_id, None)
        if session is None or self._expired(session, now):
            raise ApiError("003")
        session.last_used = now
        self._sessions[session_id] = session  # most recently used last
        return session

    def caller(self, params: dict[str, str], now: float) -> Account:
        """The account a session-using command acts for: by session ID, or by the credentials
        sent on the call itself (as the real API allows); with neither, ``005``."""
        if "session_id" in params or not set(CREDENTIALS) & params.keys():
            return self.use_session(params, now).account
        return self.login(params)

    def _expired(self, session: Session, now: float) -> bool:
        return now - session.last_used >= self.lifetime

    def _forget_expired(self, now: float) -> None:
        """Drop dead sessions, least recently used first, up to the first live one.

        Sessions are kept in order of last use, so each request pays only for what it drops,
        not for every live session. Should the wall clock step back, a dead session may wait
        behind a live one; every read checks the expiry itself, so it still counts as gone.
        """
        while self._sessions:
            session_id, oldest = next(iter(self._sessions.items()))
            if not self._expired(oldest, now):
                return
            del self._sessions[session_id]

    # Credits. Callers hold ``lock``.

    def balance(self, account: Account) -> float:
        return self._balances[account.key]

    def spend(self, account: Account, credits: float) -> None:
        self._balances[account.key] -= credits

    def delivery_fails(self) -> bool:
        """Draw whether the next message's delivery fails, at ``failure_rate``."""
        return self.failure_rate > 0 and self._random.random() < self.failure_rate

    # The control side: these take the lock themselves.

    def set_failure_rate(self, rate: float) -> None:
        """The share of messages sent from now on whose delivery fails (status 007)."""
        check_share("delivery_failure_rate", rate)
        with self.lock:
            self.failure_rate = rate

    def expire_all(self) -> None:
        """Forget every session now, as a server restart or a long sleep would."""
        with self.lock:
            self._sessions.clear()

    def session_ids(self) -> list[str]:
        """The sessions still alive now."""
        now = self.now()
        with self.lock:
            self._forget_expired(now)
            return [sid for sid, s in self._sessions.items() if not self._expired(s, now)]

    def sessions(self) -> list[SessionView]:
        """The live sessions, the most recently used first."""
        now = self.now()
        with self.lock:
            self._forget_expired(now)
            return [
                SessionView(sid, s.account.user, s.last_used + self.lifetime - now)
                for sid, s in reversed(self._sessions.items())
                if not self._expired(s, now)
            ]

    def balances(self) -> dict[AccountKey, float]:
        with self.lock:
            return dict(self._balances)

    def top_up(
        self,
        *,
        add: float | None = None,
        balance: float | None = None,
        account: AccountKey | None = None,
    ) -> dict[AccountKey, float]:
        """Add credits to, or set the balance of, one account (or every account if None)."""
        if (add is None) == (balance is None):
            raise ValueError("give exactly one of add or balance")
        amount = add if add is not None else balance
        assert amount is not None
        check_finite("credits", amount, minimum=-math.inf)
        with self.lock:
            if account is not None and account not in self._balances:
                raise ValueError(f"no such account: api_id {account[0]!r}, user {account[1]!r}")
            keys = [account] if account is not None else list(self._balances)
            for key in keys:
                self._balances[key] = amount if add is None else self._balances[key] + amount
            return {key: self._balances[key] for key in keys}
