"""The owner's answers: what the control socket's requests do to the keeper, and what they say.

Every answer is the keeper's own truth (its snapshot after the work settled), so the command
line never guesses. Requests that need the API (``ping``, ``balance``, ``login``) are
answered once the keeper has nothing in flight any more: a ``ping`` that finds the session
gone answers after the sign-in that follows it, with the new ID.

:attr:`SessionOwner.proxy_url` is the place for "the proxy URL of this owner": whoever runs
the local proxy for this owner sets it (:meth:`SessionOwner.set_proxy_url`), and ``status``
reports it.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Slot

from tray_app.core import control
from tray_app.core.control import ControlRequest
from tray_app.core.copy_formats import masked_proxy_url
from tray_app.core.protocol import ApiError, Command
from tray_app.core.redact import mask_id
from tray_app.core.state import State
from tray_app.qt.control import Reply
from tray_app.qt.keeper import Keeper
from tray_app.services.credentials import Credentials

_ALIVE = frozenset({State.ACTIVE, State.RETRYING, State.PAUSED})
"""States in which the session ID the keeper holds is alive until its expiry."""

Answer = dict[str, Any]


class SessionOwner(QObject):
    """Answers control requests for one keeper. ``kind`` names the process (tray, keepalive)."""

    def __init__(
        self,
        keeper: Keeper,
        *,
        kind: str,
        show: Callable[[], bool] | None = None,
        quit: Callable[[], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._keeper = keeper
        self.kind = kind
        self._show = show
        self._quit = quit
        self.proxy_url: str | None = None
        """The local proxy's URL while one runs for this owner (token included), else None."""

    @Slot(object)
    def set_proxy_url(self, url: str | None) -> None:
        self.proxy_url = url

    def finish_pending(self) -> None:
        """Answer every request still waiting for the keeper, with what it knows now: called
        before the owner exits (``keepalive`` stops after a rejection), so no client is left
        with a closed connection instead of the answer."""
        for settler in self.findChildren(_Settler):
            settler.check(force=True)

    def handle(self, request: ControlRequest, reply: Reply) -> None:
        op = request.op
        if op == "status":
            reply.send(control.ok(**self.status()))
        elif op == "session-id":
            self._when_settled(reply, self._session_id_answer)
        elif op in ("ping", "balance"):
            self._use_api(reply, op)
        elif op == "login":
            self._login(request.fields, reply)
        elif op == "logout":
            self._logout(reply)
        elif op == "show":
            shown = self._show() if self._show is not None else False
            reply.send(control.ok(shown=shown))
        elif op == "quit":
            reply.send(control.ok(), then=self._quit)

    def status(self) -> Answer:
        """The session for a person or a prompt: no secret in it (the ID and the proxy's
        token masked); ``session-id`` is the one answer that carries the ID itself."""
        snapshot = self._keeper.snapshot
        account = self._keeper.account
        return {
            "state": snapshot.state.value,
            "session_id": mask_id(snapshot.session_id) if snapshot.session_id else None,
            "expires_at": snapshot.expires_at,
            "next_ping_at": snapshot.next_ping_at,
            "last_error": snapshot.last_error,
            "balance": snapshot.balance,
            "base_url": self._keeper.base_url,
            "account": {"api_id": account[0], "user": account[1]} if account else None,
            "proxy_url": masked_proxy_url(self.proxy_url) if self.proxy_url else None,
            "owner": {"kind": self.kind, "pid": os.getpid()},
        }

    # The answers.

    def _session_id_answer(self, _results: list[object]) -> Answer:
        snapshot = self._keeper.snapshot
        alive = (
            snapshot.session_id is not None
            and snapshot.expires_at is not None
            and snapshot.expires_at > time.time()
            and snapshot.state in _ALIVE
        )
        if not alive:
            return self._no_session()
        return control.ok(
            session_id=snapshot.session_id,
            expires_at=snapshot.expires_at,
            base_url=self.proxy_url or self._keeper.base_url,
            api_base_url=self._keeper.base_url,
            proxy_url=self.proxy_url,
        )

    def _no_session(self) -> Answer:
        snapshot = self._keeper.snapshot
        if snapshot.state is State.FAILED:
            return control.failure(
                snapshot.last_error or "credentials rejected", "credentials rejected"
            )
        why = f"no live session ({snapshot.state.value})"
        if snapshot.last_error:
            why += f": {snapshot.last_error}"
        return control.failure(why, control.NO_SESSION)

    def _use_api(self, reply: Reply, op: str) -> None:
        keeper = self._keeper
        state = keeper.snapshot.state
        if state is State.PAUSED:
            reply.send(
                control.failure("the keep-alive is paused; resume it first", control.UNAVAILABLE)
            )
            return
        if state not in (State.ACTIVE, State.RETRYING, State.SIGNING_IN):
            reply.send(self._no_session())
            return

        def answer(results: list[object]) -> Answer:
            error = next((r for r in reversed(results) if isinstance(r, ApiError)), None)
            last = results[-1] if results else None
            if isinstance(last, ApiError) or (last is None and error is not None):
                assert error is not None
                return control.failure(str(error), error.category.value)
            snapshot = keeper.snapshot
            if snapshot.state is not State.ACTIVE or not snapshot.session_id:
                return self._no_session()
            renewed = any(isinstance(r, ApiError) for r in results)
            fields: Answer = {
                "session_id": mask_id(snapshot.session_id),
                "expires_at": snapshot.expires_at,
                "renewed": renewed,
            }
            if op == "balance":
                fields["balance"] = snapshot.balance
            return control.ok(**fields)

        self._when_settled(
            reply, answer, keeper.fetch_balance if op == "balance" else keeper.ping_now
        )

    def _login(self, fields: dict[str, str], reply: Reply) -> None:
        credentials = Credentials(fields["api_id"], fields["user"], fields["password"])
        keeper = self._keeper

        def answer(results: list[object]) -> Answer:
            if not results:
                return self._no_session()
            last = results[-1]
            if isinstance(last, ApiError):
                return control.failure(str(last), last.category.value)
            snapshot = keeper.snapshot
            if snapshot.state is not State.ACTIVE or not snapshot.session_id:
                return self._no_session()
            return control.ok(
                session_id=mask_id(snapshot.session_id),
                expires_at=snapshot.expires_at,
                owner={"kind": self.kind, "pid": os.getpid()},
            )

        self._when_settled(reply, answer, lambda: keeper.sign_in(credentials), auth_only=True)

    def _logout(self, reply: Reply) -> None:
        keeper = self._keeper

        def forgotten(problem: object) -> None:
            keeper.forgotten.disconnect(forgotten)
            if problem:
                reply.send(
                    control.failure(
                        f"the keyring kept the credentials: {problem}", control.UNAVAILABLE
                    )
                )
            else:
                reply.send(control.ok())

        keeper.forgotten.connect(forgotten)
        keeper.forget_credentials()

    # Waiting for the keeper to settle.

    def _when_settled(
        self,
        reply: Reply,
        answer: Callable[[list[object]], Answer],
        act: Callable[[], None] | None = None,
        *,
        auth_only: bool = False,
    ) -> None:
        """Do ``act``, then answer with the results of the requests that finished since, once
        nothing is in flight (and, for a sign-in, once an ``auth`` finished)."""
        _Settler(self._keeper, reply, answer, auth_only, self).begin(act)


class _Settler(QObject):
    """Collects the keeper's results from now on and answers once it has settled."""

    def __init__(
        self,
        keeper: Keeper,
        reply: Reply,
        answer: Callable[[list[object]], Answer],
        auth_only: bool,
        parent: QObject,
    ) -> None:
        super().__init__(parent)
        self._keeper = keeper
        self._reply = reply
        self._answer = answer
        self._auth_only = auth_only
        self._results: list[object] = []
        self._auth_seen = False
        self._finished = False
        # A child timer, not QTimer.singleShot(0, self, ...): PySide6 would keep that callable
        # (it holds self) and drop it inside this object's destructor, which can crash.
        self._soon = QTimer(self)
        self._soon.setSingleShot(True)
        self._soon.setInterval(0)
        self._soon.timeout.connect(self._check)

    def begin(self, act: Callable[[], None] | None) -> None:
        self._keeper.request_done.connect(self._done)
        self._keeper.snapshot_changed.connect(self._later)
        if act is not None:
            act()
        self._check()

    def _done(self, request: object, result: object) -> None:
        self._results.append(result)
        if getattr(request, "command", None) is Command.AUTH:
            self._auth_seen = True
        self._later()

    def _later(self, _snapshot: object = None) -> None:
        self._soon.start()  # after the keeper folded the result in

    @Slot()
    def _check(self) -> None:
        self.check()

    def check(self, *, force: bool = False) -> None:
        """Answer if the keeper has settled (or, with ``force``, with what it has now)."""
        if self._finished:
            return
        if not self._reply.pending:
            self._finish()
            return
        keeper = self._keeper
        settled = keeper.in_flight is None and keeper.snapshot.state is not State.SIGNING_IN
        if self._auth_only and not self._auth_seen and keeper.snapshot.state is not State.FAILED:
            settled = False
        if not settled and not force:
            return
        self._reply.send(self._answer(self._results))
        self._finish()

    def _finish(self) -> None:
        self._finished = True
        for signal, slot in (
            (self._keeper.request_done, self._done),
            (self._keeper.snapshot_changed, self._later),
        ):
            with contextlib.suppress(RuntimeError, TypeError):
                signal.disconnect(slot)
        self._soon.stop()
        self.deleteLater()
