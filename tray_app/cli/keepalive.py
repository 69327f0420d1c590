"""``clickatell-tray keepalive`` and ``proxy``: the keeper without a tray, one line per event.

``proxy`` is ``keepalive`` that also serves the local API proxy (:mod:`tray_app.qt.proxy`) on
127.0.0.1. Its first line on standard output is ``proxy: <URL>``, the URL with the launch's
token, for the person or script that started it; that is the only place it is printed in
full (never in a log). A port that cannot be had is one line and exit 1.
"""

from __future__ import annotations

import argparse
import time

from tray_app.cli.common import base_url, is_loopback_url, store
from tray_app.cli.errors import EXIT_OK, EXIT_OTHER, EXIT_USAGE, CliError
from tray_app.core.redact import mask_id
from tray_app.core.session import check_interval


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
    reporter = _KeepaliveReporter(credential_store.problem)
    keeper.snapshot_changed.connect(reporter.snapshot)
    keeper.event.connect(reporter.event)
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
    keeper.stop()
    server.close()
    wakeup.setEnabled(False)
    print("stopped", flush=True)
    return EXIT_OK


class _KeepaliveReporter:
    """One line on standard output per change a person would care about."""

    def __init__(self, keyring_problem: str | None) -> None:
        self._last_line = ""
        if keyring_problem:
            self._say(keyring_problem)

    def snapshot(self, snapshot: object) -> None:
        from tray_app.core.state import Snapshot, mm_ss

        assert isinstance(snapshot, Snapshot)
        parts = [snapshot.state.value, f"session {mask_id(snapshot.session_id)}"]
        if snapshot.expires_at is not None:
            parts.append(f"expires in {mm_ss(snapshot.expires_at - time.time())}")
        if snapshot.last_error:
            parts.append(f"last error: {snapshot.last_error}")
        self._say(", ".join(parts))

    def event(self, event: object) -> None:
        self._say(f"event: {event}")

    def _say(self, line: str) -> None:
        if line != self._last_line:
            self._last_line = line
            print(f"{time.strftime('%H:%M:%S')} {line}", flush=True)
