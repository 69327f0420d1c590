"""The exchange: perform one API request and record in the credential store what it proves.

The keeper and the command line (when no owner runs) both go through here, so the rules of
what a request proves are written once:

* an ``auth`` that succeeds proves the credentials (they are stored, if they were offered) and
  a new session ID, alive until :func:`~tray_app.core.session.expiry_after` its send time;
* a ``ping`` or ``getbalance`` that succeeds (``no credit`` included) proves the ID it names
  alive until the same expiry;
* an answer that says the session is gone (003, 005, 001 to a ping), or that the account is
  rejected, proves the stored ID dead: it is forgotten, with its expiry; so does an ``auth``
  with no credentials to send;
* everything else (network trouble, garbled answers) proves nothing and records nothing.

The work comes in two halves, :meth:`Exchange.send` (the network) and :meth:`Exchange.record`
(the store), because the keeper runs them on different workers: a keyring write must never
queue behind a hung request. :meth:`Exchange.run` does both, for the command line. Where the
store keeps each proof is its own business: a new ID goes to the keyring, an expiry to a state
file (:mod:`tray_app.services.expiry_file`), so a ping that keeps the ID costs no keyring call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tray_app.core.clock import Clock, SystemClock
from tray_app.core.protocol import ApiError, Command, ErrorCategory
from tray_app.core.redact import SECRET_FILTER
from tray_app.core.session import LIFETIME, expiry_after

if TYPE_CHECKING:
    from tray_app.services.credentials import Credentials, CredentialStore
    from tray_app.services.http_client import ApiClient

_PROVES_DEAD = frozenset({ErrorCategory.SESSION_GONE, ErrorCategory.CREDENTIALS_REJECTED})


class NoCredentials(Exception):
    """The keyring (or this run's memory) holds no credentials to sign in with."""


@dataclass(frozen=True, slots=True)
class Attempt:
    """One request to make: ``auth`` with ``offered`` (None: the stored credentials), or a
    ``ping``/``getbalance`` of ``session_id``; deadlines count from ``sent_at``."""

    command: Command
    sent_at: float
    session_id: str | None = None
    offered: Credentials | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a successful request proved: ``session_id`` is alive until ``expires_at``."""

    attempt: Attempt
    session_id: str
    expires_at: float
    balance: float | None = None

    @property
    def value(self) -> str | float:
        """The bare result the keep-alive plan folds in: the credit for a balance, else the ID."""
        if self.attempt.command is Command.BALANCE and self.balance is not None:
            return self.balance
        return self.session_id


class Exchange:
    """Performs requests through one client and records their proof in one store."""

    def __init__(
        self,
        store: CredentialStore,
        client: Callable[[], ApiClient],
        *,
        clock: Clock | None = None,
        lifetime: float = LIFETIME,
    ) -> None:
        self.store = store
        self._client = client
        self._clock = clock or SystemClock()
        self.lifetime = lifetime

    def attempt(
        self,
        command: Command,
        session_id: str | None = None,
        offered: Credentials | None = None,
    ) -> Attempt:
        """An attempt sent now, by this exchange's clock."""
        return Attempt(command, self._clock.wall(), session_id, offered)

    def send(self, attempt: Attempt) -> Receipt:
        """The network half: perform the request; ApiError or NoCredentials if it fails."""
        client = self._client
        if attempt.command is Command.AUTH:
            credentials = attempt.offered or self.store.load()
            if credentials is None:
                raise NoCredentials
            SECRET_FILTER.add_secret(credentials.password)
            session_id = client().auth(credentials.api_id, credentials.user, credentials.password)
            SECRET_FILTER.add_secret(session_id)
            return self._receipt(attempt, session_id)
        sent_id = attempt.session_id or ""
        SECRET_FILTER.add_secret(sent_id)
        if attempt.command is Command.BALANCE:
            credit = client().balance(sent_id)
            return self._receipt(attempt, sent_id, credit)
        alive = client().ping(sent_id)
        SECRET_FILTER.add_secret(alive)
        return self._receipt(attempt, alive)

    def record(self, attempt: Attempt, result: object, *, at_once: bool = False) -> bool:
        """The store's half: record what ``result`` (a Receipt or the exception) proves.

        ``at_once``: only if that needs no keyring call (a ping that keeps the ID only moves
        the expiry, a file write), so that the caller may do it on its own thread; False, and
        nothing recorded, when it would. Without ``at_once`` it is always done: True.
        """
        store = self.store
        if isinstance(result, Receipt):
            if attempt.command is Command.AUTH and attempt.offered is not None:
                if at_once:
                    return False
                store.save(attempt.offered)
            return store.save_session(result.session_id, result.expires_at, at_once=at_once)
        if isinstance(result, NoCredentials):
            return store.save_session(None, None, at_once=at_once)
        if isinstance(result, ApiError):
            category = result.category
            if category is ErrorCategory.NO_CREDIT and attempt.session_id:
                expires_at = expiry_after(attempt.sent_at, self.lifetime)
                return store.save_session(attempt.session_id, expires_at, at_once=at_once)
            if category in _PROVES_DEAD and not (
                attempt.command is Command.AUTH and category is ErrorCategory.SESSION_GONE
            ):  # 003/005 to an auth is nonsense from the server, treated as transient
                return store.save_session(None, None, at_once=at_once)
        return True

    def run(self, attempt: Attempt) -> Receipt:
        """Both halves in a row, for a caller that owns no worker threads."""
        try:
            receipt = self.send(attempt)
        except (ApiError, NoCredentials) as exc:
            self.record(attempt, exc)
            raise
        self.record(attempt, receipt)
        return receipt

    def forget_session(self) -> None:
        """The session ended by the user's wish: drop the stored ID and its expiry."""
        self.store.save_session(None, None)

    def _receipt(self, attempt: Attempt, session_id: str, balance: float | None = None) -> Receipt:
        expires_at = expiry_after(attempt.sent_at, self.lifetime)
        return Receipt(attempt, session_id, expires_at, balance)
