"""The composition root of the tray app: wires keeper, tray, dialogs and services together.

Decisions taken here:

* One owner per user: the tray takes the owner's lock and answers the control
  socket (:mod:`tray_app.qt.control`, :mod:`tray_app.qt.owner`). A second launch
  asks the first to open its status window or menu and exits 0; an owner that
  holds the lock but does not answer is reported, never replaced. An owner
  directory that another user made, or that is open to others, stops the start
  with one line saying what is wrong (exit 1). The demo is an owner of its
  own, so it can run beside the real app.
* No system tray at start (the panel may come up after the app at login):
  wait up to ``tray_wait.TRAY_WAIT_SECONDS`` while saying so on stderr, then open a
  small status window that explains why and names the GNOME AppIndicator
  extension. The app keeps watching, and the icon appears if a tray shows up
  later; the app never runs invisible.
* Without ``--hidden`` (which the autostart entry passes), a first run with
  no stored credentials opens the sign-in dialog once the keyring was read.
* On X11 the app draws without MIT-SHM (``QT_XCB_NO_MITSHM=1`` unless the user set it):
  with shared memory Qt waits for the X server before each repaint, a round trip that wakes
  two threads every minute for a 64-pixel icon; without it the minute's redraw is one wake-up.
* Once start-up is over (the first request answered, which has imported ``requests`` and read
  the keyring; or the keyring read, when there is nothing to sign in with) the app gives back
  what start-up left behind (:mod:`tray_app.core.memory`): a resident tray should not keep its
  peak for weeks.
* ``--demo`` runs the bundled simulator in-process on a free loopback port,
  keeps the demo credentials in memory and its settings in a throw-away file,
  and so never touches the keyring or the user's settings.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, QTimer
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from tray_app import APP_ID, APP_NAME, __version__
from tray_app.core.state import Snapshot, State
from tray_app.qt.control import ControlServer
from tray_app.qt.startup_release import release_when_started
from tray_app.qt.unix_signals import quit_on_signals
from tray_app.services.owner_files import UnsafeDirectory
from tray_app.ui.icons import window_icon
from tray_app.ui.shown_report import report_when_embedded, when_on_panel
from tray_app.ui.tray_wait import show_tray_when_available, tray_available

if TYPE_CHECKING:
    import tempfile

    from tray_app.qt.keeper import Keeper
    from tray_app.qt.owner import SessionOwner
    from tray_app.qt.proxy_service import ProxyService
    from tray_app.services.credentials import CredentialStore
    from tray_app.services.settings import Settings
    from tray_app.sim.server import Simulator
    from tray_app.ui.actions import UserActions
    from tray_app.ui.clipboard import SecretClipboard
    from tray_app.ui.notify import Notifier
    from tray_app.ui.status_window import StatusWindowHost
    from tray_app.ui.tray import TrayView

log = logging.getLogger(__name__)

NO_MITSHM = "QT_XCB_NO_MITSHM"
ICON_FIRST_MS = 500
DEMO_CLEAR_AFTER_VARIABLE = "CLICKATELL_TRAY_DEMO_CLEAR_AFTER"
"""The demo's clipboard auto-clear in seconds (its settings are throw-away): for the tests."""


@dataclass
class Services:
    """What the tray app is made of; built once, torn down in reverse."""

    app: QApplication
    settings: Settings
    store: CredentialStore
    keeper: Keeper
    view: TrayView
    notifier: Notifier
    clipboard: SecretClipboard
    windows: StatusWindowHost
    simulator: Simulator | None = None
    demo_dir: tempfile.TemporaryDirectory[str] | None = None
    proxy: ProxyService | None = None
    actions: UserActions | None = None
    keep: list[QObject] = field(default_factory=list)


def run(*, demo: bool, base_url: str | None, verbose: bool, hidden: bool = False) -> int:
    """Start the tray app and run its event loop; returns the exit code.

    The icon goes up first, drawn as "signing in", and everything else is
    imported and built once the panel has it (embedded, or registered with the
    watcher; at most ``ICON_FIRST_MS`` later): the user sees the app start at
    once, and a slow import never leaves the panel empty.
    """
    from tray_app.services.display import display_problem

    problem = None if QApplication.instance() else display_problem()
    if problem is not None:
        print(
            f"{APP_NAME}: {problem}. The tray needs a desktop session; the commands in "
            "`clickatell-tray --help` work without one.",
            file=sys.stderr,
        )
        return 1
    os.environ.setdefault(NO_MITSHM, "1")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)
    app.setQuitOnLastWindowClosed(False)
    server = ControlServer(demo=demo)
    try:
        claimed = server.claim()
    except UnsafeDirectory as exc:
        print(f"{APP_NAME}: cannot start: {exc}", file=sys.stderr)
        return 1
    if not claimed:
        print(f"{APP_NAME} is already running{_ask_to_show(demo)}", file=sys.stderr)
        return 0
    signal_wakeup = quit_on_signals(app)
    early_icon = _early_icon()
    built: list[Services] = []
    owners: list[SessionOwner] = []

    def finish_start() -> None:
        try:
            services = _build(app, demo=demo, base_url=base_url, verbose=verbose, tray=early_icon)
        except Exception as exc:
            log.exception("could not start")
            print(f"{APP_NAME}: could not start: {exc}", file=sys.stderr)
            app.exit(1)
            return
        built.append(services)
        owner = _serve_control(server, services, demo=demo)
        owners.append(owner)
        services.keep.extend([server, owner, signal_wakeup])
        show_tray_when_available(
            services.app, services.view, services.windows.status_window, report=_report_shown()
        )
        if not hidden:

            def ask_first_run_to_sign_in(has_credentials: bool) -> None:
                if not has_credentials:
                    services.view.sign_in_requested.emit()

            services.keeper.started.connect(ask_first_run_to_sign_in)
        release_when_started(services.keeper)
        services.keeper.start()

    if early_icon is None:
        QTimer.singleShot(0, finish_start)
    else:
        # Building the rest takes a few hundred milliseconds of the event loop; the panel
        # can only embed (XEmbed) or read (SNI) the icon while the loop runs, so it goes first.
        # (On the next turn: the check runs inside the event dispatcher's wake-up.)
        when_on_panel(
            early_icon, lambda: QTimer.singleShot(0, finish_start), timeout_ms=ICON_FIRST_MS
        )
    code = app.exec()
    for owner in owners:
        owner.finish_pending()
    if built:
        _tear_down(built[0])
    server.close()
    return code


def _ask_to_show(demo: bool) -> str:
    """Ask the running owner to show itself; the rest of the sentence that says how it went."""
    from tray_app.services.control_client import OwnerUnreachable, ask, find_owner

    try:
        owner = find_owner(demo=demo)
        if owner is None:
            return ", but it has just quit; start again."
        answer = ask(owner, "show", timeout=2.0)
    except (OwnerUnreachable, UnsafeDirectory) as exc:
        return f", but it did not answer: {exc}"
    if answer.get("ok") and not answer.get("shown"):
        who = f" (pid {owner.pid})" if owner.pid else ""
        return f": another process{who} keeps the session alive without a window; stop it first."
    return "; asked it to show itself."


def _serve_control(server: ControlServer, services: Services, *, demo: bool) -> SessionOwner:
    """The tray answers the control socket as the owner of the session."""
    from tray_app.qt.owner import SessionOwner

    owner = SessionOwner(
        services.keeper,
        kind="demo tray" if demo else "tray",
        show=services.windows.show,
        quit=services.app.quit,
    )
    if services.proxy is not None:
        services.proxy.url_changed.connect(owner.set_proxy_url)
        owner.set_proxy_url(services.proxy.url)
    server.serve(owner.handle)
    services.keeper.ticked.connect(server.ensure_listening)
    return owner


def _early_icon() -> QSystemTrayIcon | None:
    """The tray icon shown before anything else is built, when a tray is there to take it."""
    if not tray_available():
        return None
    from tray_app.ui.icons import StatusIconCache

    icon = QSystemTrayIcon()
    icon.setIcon(StatusIconCache().icon(Snapshot(state=State.SIGNING_IN), time.time()))
    icon.setToolTip(f"{APP_NAME}\nStarting…")
    icon.show()
    if os.environ.get("CLICKATELL_TRAY_REPORT_SHOWN") == "1":
        report_when_embedded(icon)
    return icon


def _build(
    app: QApplication,
    *,
    demo: bool,
    base_url: str | None,
    verbose: bool,
    tray: QSystemTrayIcon | None = None,
) -> Services:
    from tray_app.qt.keeper import Keeper
    from tray_app.services.credentials import Credentials, CredentialStore
    from tray_app.services.logs import setup_logging
    from tray_app.services.settings import Settings
    from tray_app.ui.clipboard import SecretClipboard
    from tray_app.ui.notify import Notifier
    from tray_app.ui.status_window import StatusWindowHost
    from tray_app.ui.tray import TrayView

    simulator = None
    demo_dir = None
    override: str | None = None
    """A base URL chosen for this run only (``--base-url``, ``CLICKATELL_BASE_URL``)."""
    if demo:
        import tempfile

        from tray_app.sim.server import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER, Simulator

        simulator = Simulator().start()
        base_url = simulator.base_url
        demo_dir = tempfile.TemporaryDirectory(prefix="clickatell-tray-demo-")
        demo_ini = os.path.join(demo_dir.name, "demo.ini")
        settings = Settings(QSettings(demo_ini, QSettings.Format.IniFormat))
        settings.update(base_url=base_url, local_proxy=True)
        clear_after = os.environ.get(DEMO_CLEAR_AFTER_VARIABLE)
        if clear_after:
            settings.clipboard_clear_seconds = int(clear_after)
        store = CredentialStore(memory_only=True)
        store.save(Credentials(DEMO_API_ID, DEMO_USER, DEMO_PASSWORD))
        print(f"demo: simulator at {base_url}", flush=True)
    else:
        settings = Settings()
        store = CredentialStore()
        if base_url is not None and (
            base_url != settings.base_url or os.environ.get("CLICKATELL_BASE_URL")
        ):
            override = base_url
        base_url = base_url or settings.base_url
    try:
        log_file = setup_logging("DEBUG" if verbose else settings.log_level, console=verbose)
        log.info("%s %s starting; log at %s", APP_NAME, __version__, log_file)
    except OSError as exc:
        print(f"{APP_NAME}: logging to a file is off: {exc}", file=sys.stderr)
    app.setWindowIcon(window_icon())
    keeper = Keeper(store, base_url=base_url, interval=settings.ping_interval_minutes * 60.0)
    notifier = Notifier()
    notifier.enabled = settings.notifications
    clipboard = SecretClipboard()
    clipboard.clear_after = settings.clipboard_clear_seconds
    view = TrayView(
        keeper,
        notifier,
        clipboard,
        demo_note=f"Demo — simulator at {base_url}" if demo else None,
        inbox_url=f"{simulator.base_url}/sim/" if simulator is not None else None,
        panel=settings.icon_theme,
        tray=tray,
    )
    notifier.set_fallback(view.tray.showMessage)
    windows = StatusWindowHost(keeper, view)
    services = Services(
        app, settings, store, keeper, view, notifier, clipboard, windows, simulator, demo_dir
    )
    from tray_app.qt.history_feed import HistoryFeed
    from tray_app.qt.proxy_service import ProxyService
    from tray_app.ui.actions import UserActions

    services.proxy = ProxyService(keeper)
    services.proxy.url_changed.connect(view.set_proxy_url)
    services.actions = UserActions(
        view=view,
        keeper=keeper,
        settings=settings,
        store=store,
        notifier=notifier,
        clipboard=clipboard,
        quit_app=app.quit,
        demo=demo,
        base_url_override=override,
        proxy=services.proxy,
        feed=HistoryFeed(keeper, keeper.now, keeper),
    )
    QTimer.singleShot(0, lambda: _after_first_paint(services, demo=demo))
    return services


def _after_first_paint(services: Services, *, demo: bool) -> None:
    """What the icon need not wait for: reading the autostart entry, D-Bus and network watchers."""
    from tray_app.qt.wakeups import WakeupWatcher

    if demo:
        services.view.login_action.setEnabled(False)
        services.view.login_action.setToolTip("Not in the demo")
    else:
        from tray_app.ui.actions import autostart_enabled

        services.view.set_start_at_login(autostart_enabled())
    if services.actions is not None:
        services.actions.run_proxy(services.settings.local_proxy)
    wakeups = WakeupWatcher()
    wakeups.woke_up.connect(services.keeper.woke_up)
    services.keep.append(wakeups)


def _report_shown() -> bool:
    return os.environ.get("CLICKATELL_TRAY_REPORT_SHOWN") == "1"


def _tear_down(services: Services) -> None:
    if services.proxy is not None:
        services.proxy.stop()
    services.keeper.stop()
    services.notifier.close()
    services.view.tray.hide()
    if services.simulator is not None:
        services.simulator.stop()
    if services.demo_dir is not None:
        services.demo_dir.cleanup()
