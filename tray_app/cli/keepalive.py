"""``clickatell-tray keepalive`` and ``proxy``: the keeper without a tray, one line per event.

``proxy`` is ``keepalive`` that also serves the local API proxy (:mod:`tray_app.qt.proxy`) on
127.0.0.1. Its first line on standard output is ``proxy: <URL>``, the URL with the launch's
token, for the person or script that started it; that is the only place it is printed in
full (never in a log). A port that cannot be had is one line and exit 1.

Neither idles when there is nothing left to keep alive: with no credentials and no session
stored it exits 4 at once, after a rejection of the credentials 3, and once the session has
expired with no credentials to sign in again 4, each with one line on stderr saying why.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from tray_app.cli.common import base_url, is_loopback_url, store
from tray_app.cli.errors import (
    EXIT_OK,
    EXIT_OTHER,
    EXIT_REJECTED,
    EXIT_SESSION_GONE,
    EXIT_USAGE,
    CliError,
)
from tray_app.core.history import event_entry, result_entry, state_entry
from tray_app.core.protocol import Command
from tray_app.core.redact import mask_id
from tray_app.core.session import Event, Request, check_interval
from tray_app.core.state import State

if TYPE_CHECKING:
    from tray_app.qt.keeper import Keeper


def cmd_keepalive(args: argparse.Namespace) -> int:
    return _run_owner(args, proxy_port=None)


def cmd_proxy(args: argparse.Namespace) -> int:
    return _run_owner(args, proxy_port=args.port)


def _run_owner(args: argparse.Namespace, *, proxy_port: int | None) -> int:
    """Keep the session alive until a signal; with ``proxy_port``, serve the proxy there too."""
    from PySide6.QtCore import QCoreApplication

    from tray_app.qt.control import ControlServer
    from tray_app.qt.keeper import Keeper
    from tray_app.qt.owner import SessionOwner
    from tray_app.services.owner_files import UnsafeDirectory
    from tray_app.services.settings import Settings

    url = base_url(args)
    interval = args.interval or Settings().ping_interval_minutes * 60.0
    try:
        check_interval(interval, loopback=is_loopback_url(url))
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    app = QCoreApplication.instance() or QCoreApplication([])
    server = ControlServer()
    try:
        claimed = server.claim()
    except UnsafeDirectory as exc:
        raise CliError(f"cannot keep the session: {exc}", EXIT_OTHER) from None
    if not claimed:
        raise CliError(
            "another process already keeps the session alive; ask it with: clickatell-tray status",
            EXIT_OTHER,
        )
    credential_store = store()
    keeper = Keeper(credential_store, base_url=url, interval=interval)
    kind = "keepalive" if proxy_port is None else "proxy"
    owner = SessionOwner(keeper, kind=kind, quit=app.quit)
    server.serve(owner.handle)
    keeper.ticked.connect(server.ensure_listening)
    reporter = KeepaliveReporter(keeper, credential_store.problem)  # noqa: F841 - kept alive
    ended: list[CliError] = []

    def give_up(error: CliError) -> None:
        if not ended:
            ended.append(error)
            app.quit()

    def started(has_credentials: bool) -> None:
        if not has_credentials and keeper.snapshot.session_id is None:
            give_up(
                CliError(
                    "nothing stored to keep alive; sign in with: clickatell-tray login",
                    EXIT_SESSION_GONE,
                )
            )

    def state_changed(state: object) -> None:
        reason = keeper.snapshot.last_error or str(state)
        if state is State.FAILED:
            give_up(CliError(f"credentials rejected: {reason}", EXIT_REJECTED))
        elif state is State.EXPIRED:  # gone, and no credentials to sign in again
            give_up(CliError(f"the session is gone: {reason}", EXIT_SESSION_GONE))

    keeper.started.connect(started)
    keeper.state_changed.connect(state_changed)
    from tray_app.qt.unix_signals import quit_on_signals

    wakeup = quit_on_signals(app)
    proxy = None
    if proxy_port is not None:
        from tray_app.qt.proxy_service import ProxyService

        proxy = ProxyService(keeper, port=proxy_port)
        try:
            proxy.set_enabled(True)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise CliError(
                f"cannot serve on 127.0.0.1:{proxy_port}: {reason}", EXIT_OTHER
            ) from None
        proxy.url_changed.connect(owner.set_proxy_url)
        owner.set_proxy_url(proxy.url)
        print(f"proxy: {proxy.url}", flush=True)
    keeper.start()
    print(f"keeping the session alive against {url}, ping every {interval:g} s", flush=True)
    app.exec()
    if proxy is not None:
        proxy.stop()
    owner.finish_pending()
    keeper.stop()
    server.close()
    wakeup.setEnabled(False)
    if ended:
        raise ended[0]
    print("stopped", flush=True)
    return EXIT_OK


class KeepaliveReporter:
    """One line on standard output per thing that happened, in the Recent events' words.

    Lines come from what happened (a request's result, an event, a pause), never from every
    change of the snapshot, which moves twice per ping (sent, answered). At start it says
    whether a stored session is being checked or a sign-in is under way.
    """

    def __init__(
        self,
        keeper: Keeper,
        keyring_problem: str | None,
        *,
        clock: Callable[[], float] = time.time,
        out: Callable[[str], None] | None = None,
    ) -> None:
        self._keeper = keeper
        self._clock = clock
        self._out = out or (lambda line: print(line, flush=True))
        self._state = keeper.snapshot.state
        self._first_sent = False
        keeper.started.connect(self.started)
        keeper.request_sent.connect(self.request_sent)
        keeper.request_done.connect(self.request_done)
        keeper.event.connect(self.event)
        keeper.state_changed.connect(self.state_changed)
        if keyring_problem:
            self._say(keyring_problem)

    def started(self, has_credentials: bool) -> None:
        if not has_credentials and self._keeper.snapshot.session_id is None:
            self._say("no stored credentials: sign in first with: clickatell-tray login")

    def request_sent(self, request: Request) -> None:
        """The first request says what the start is doing: reusing a session or signing in."""
        if self._first_sent:
            return
        self._first_sent = True
        if request.command is Command.AUTH:
            self._say("signing in with the stored credentials")
        else:
            self._say(f"checking the stored session {mask_id(request.session_id)}")

    def request_done(self, request: Request, result: object) -> None:
        self._say(result_entry(self._clock(), request.command, result).text)

    def event(self, event: Event) -> None:
        entry = event_entry(self._clock(), event, self._keeper.snapshot.session_id)
        if entry is not None:
            self._say(entry.text)

    def state_changed(self, state: State) -> None:
        before, self._state = self._state, state
        entry = state_entry(self._clock(), before, state)
        if entry is not None:
            self._say(entry.text)

    def _say(self, line: str) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(self._clock()))
        self._out(f"{stamp} {line}")
