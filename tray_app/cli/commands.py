"""Command line: the tray, the headless keep-alive, one-shot session commands and the simulator.

Exit codes (also in ``--help``): 0 ok, 1 other trouble (no keyring, an API
error with no better code), 2 usage, 3 credentials rejected, 4 session gone or
none stored, 5 network or server trouble. Errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

from tray_app import __version__
from tray_app.core.protocol import DEFAULT_BASE_URL, ApiError, ErrorCategory, is_loopback_host
from tray_app.core.redact import mask_id

if TYPE_CHECKING:
    from tray_app.services.credentials import CredentialStore
    from tray_app.services.http_client import ApiClient

EXIT_OK = 0
EXIT_OTHER = 1
EXIT_USAGE = 2
EXIT_REJECTED = 3
EXIT_SESSION_GONE = 4
EXIT_NETWORK = 5

EXIT_CODES_HELP = """\
exit codes:
  0  ok
  1  other trouble (no usable keyring, an API error without a better code)
  2  usage error
  3  credentials rejected (or account frozen, IP lock-down, wrong api_id)
  4  session gone, or no session stored
  5  network or server trouble (timeout, connection, TLS, 5xx, garbled answer)

durations: 90s, 15m, 1h, or a bare number of minutes.
The base URL comes from --base-url, else $CLICKATELL_BASE_URL, else the settings.
"""

_CATEGORY_EXIT = {
    ErrorCategory.CREDENTIALS_REJECTED: EXIT_REJECTED,
    ErrorCategory.SESSION_GONE: EXIT_SESSION_GONE,
    ErrorCategory.TRANSIENT: EXIT_NETWORK,
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0}

log = logging.getLogger("tray_app")


class CliError(Exception):
    """A failure with the one line to show and the exit code to leave with."""

    def __init__(self, message: str, code: int = EXIT_OTHER) -> None:
        super().__init__(message)
        self.code = code


def parse_duration(text: str) -> float:
    """Seconds from ``90s``, ``15m``, ``1h`` or a bare number of minutes."""
    match = _DURATION.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 90s, 10m or 1h)")
    number, unit = match.groups()
    seconds = float(number) * _UNIT_SECONDS[(unit or "m").lower()]
    if seconds <= 0:
        raise argparse.ArgumentTypeError("a duration must be more than zero")
    return seconds


def _fault_rate(text: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= rate <= 1.0:
        raise argparse.ArgumentTypeError("the fault rate is a share between 0 and 1")
    return rate


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--base-url",
        default=argparse.SUPPRESS,
        help="API base URL (default: $CLICKATELL_BASE_URL or the settings)",
    )
    common.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="debug logging"
    )
    parser = argparse.ArgumentParser(
        prog="clickatell-tray",
        description="Keeps a Clickatell HTTP/S API session alive from the system tray. "
        "Without a command, starts the tray.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="run the tray against the bundled simulator with a demo account (no keyring used)",
    )
    parser.add_argument(
        "--hidden", action="store_true", help="start in the tray without any window (autostart)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=text,
            description=text,
            parents=[common],
            epilog=EXIT_CODES_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    login = command("login", "sign in and keep the credentials and session ID in the keyring")
    login.add_argument("--api-id", required=True, help="the HTTP API's api_id")
    login.add_argument("--user", required=True, help="the API user name")
    login.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    command("logout", "forget the stored credentials and session ID")
    command("status", "show the stored session: masked ID and time to expiry")
    command("ping", "ping the stored session, which keeps it alive 15 more minutes")
    command("session-id", "print the stored session ID alone, for $(clickatell-tray session-id)")
    command("balance", "show the account's credit (this keeps the session alive too)")
    keepalive = command("keepalive", "keep the session alive from a terminal, without a tray")
    keepalive.add_argument(
        "--interval",
        type=parse_duration,
        default=None,
        help="time between pings (default: the settings, 10m); under 1m only on loopback",
    )
    simulate = command("simulate", "run a local server that speaks the API, for testing clients")
    simulate.add_argument("--host", default="127.0.0.1", help="address to listen on")
    simulate.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    simulate.add_argument(
        "--lifetime", type=parse_duration, default=900.0, help="idle lifetime (default 15m)"
    )
    simulate.add_argument(
        "--fault-rate",
        type=_fault_rate,
        default=0.0,
        help="share of requests answered with a 5xx, garbage or a dropped connection",
    )
    simulate.add_argument(
        "--latency", type=float, default=0.0, help="seconds added before each answer"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    verbose = getattr(args, "verbose", False)
    try:
        if args.command is None:
            return _run_tray(args, verbose)
        handler = _COMMANDS[args.command]
        _setup_console_logging(verbose)
        return handler(args)
    except CliError as exc:
        print(f"clickatell-tray: {exc}", file=sys.stderr)
        return exc.code
    except ApiError as exc:
        print(f"clickatell-tray: {_explain(exc)}", file=sys.stderr)
        return _CATEGORY_EXIT.get(exc.category, EXIT_OTHER)
    except KeyboardInterrupt:
        return 130


def gui_main() -> int:
    """The gui-script entry: the tray with no console window (desktop entry, autostart)."""
    return main(sys.argv[1:])


def _run_tray(args: argparse.Namespace, verbose: bool) -> int:
    from tray_app.app import run

    base_url = None if args.demo else _base_url(args)
    return run(demo=args.demo, base_url=base_url, verbose=verbose, hidden=args.hidden)


def _setup_console_logging(verbose: bool) -> None:
    from tray_app.services.logs import setup_logging

    try:
        setup_logging("DEBUG" if verbose else "WARNING", console=True)
    except OSError as exc:
        print(f"clickatell-tray: logging to a file is off: {exc}", file=sys.stderr)


def _explain(error: ApiError) -> str:
    advice = {
        ErrorCategory.CREDENTIALS_REJECTED: "check the api_id, user and password",
        ErrorCategory.SESSION_GONE: "sign in again with: clickatell-tray login",
        ErrorCategory.TRANSIENT: "try again in a moment",
    }.get(error.category)
    text = f"{error.command.value}: {error}"
    return f"{text} ({advice})" if advice else text


def _base_url(args: argparse.Namespace) -> str:
    from tray_app.core.protocol import validate_base_url

    url = getattr(args, "base_url", None) or os.environ.get("CLICKATELL_BASE_URL")
    if not url:
        from tray_app.services.settings import Settings

        url = Settings().base_url or DEFAULT_BASE_URL
    try:
        return validate_base_url(url)
    except ValueError as exc:
        raise CliError(f"bad base URL: {exc}", EXIT_USAGE) from None


def _store() -> CredentialStore:
    from tray_app.services.credentials import CredentialStore

    return CredentialStore()


def _client(args: argparse.Namespace) -> ApiClient:
    from tray_app.services.http_client import ApiClient

    return ApiClient(_base_url(args))


def _stored_session(store: CredentialStore) -> str:
    session_id = store.load_session_id()
    if not session_id:
        hint = f" ({store.problem})" if store.problem else ""
        raise CliError(
            f"no session stored; sign in with: clickatell-tray login{hint}", EXIT_SESSION_GONE
        )
    return session_id


def _remember_expiry(expires_at: float | None) -> None:
    from tray_app.services.settings import Settings

    Settings().session_expires_at = expires_at


def _expires_text(expires_at: float | None) -> str:
    if expires_at is None:
        return "unknown"
    left = expires_at - time.time()
    if left <= 0:
        return "expired (unless used elsewhere since)"
    from tray_app.core.state import mm_ss

    return f"in {mm_ss(left)} (if not used elsewhere since)"


def cmd_login(args: argparse.Namespace) -> int:
    from tray_app.core.session import LIFETIME
    from tray_app.services.credentials import Credentials

    password = _read_password(args.password_stdin)
    if not password:
        raise CliError("no password given", EXIT_USAGE)
    client = _client(args)
    started = time.time()
    session_id = client.auth(args.api_id, args.user, password)
    store = _store()
    store.save(Credentials(args.api_id, args.user, password))
    store.save_session_id(session_id)
    if not store.persistent:
        raise CliError(f"signed in, but nothing could be stored: {store.problem}", EXIT_OTHER)
    _remember_expiry(started + LIFETIME)
    print(f"signed in; session {mask_id(session_id)} stored in the keyring")
    return EXIT_OK


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CliError("no terminal to ask for the password; use --password-stdin", EXIT_USAGE)
    return getpass.getpass("Password: ")


def cmd_logout(args: argparse.Namespace) -> int:
    store = _store()
    store.clear()
    _remember_expiry(None)
    if store.problem:
        raise CliError(store.problem, EXIT_OTHER)
    print("signed out; credentials and session ID forgotten")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from tray_app.services.settings import Settings

    store = _store()
    session_id = store.load_session_id()
    credentials = store.load()
    if store.problem:
        raise CliError(store.problem, EXIT_OTHER)
    if not session_id:
        state = "signed out" if credentials is None else "no session (credentials stored)"
        print(f"state:      {state}")
        return EXIT_SESSION_GONE
    expires_at = Settings().session_expires_at
    stale = expires_at is not None and expires_at <= time.time()
    print(f"state:      {'expired' if stale else 'active'}")
    print(f"session ID: {mask_id(session_id)}")
    print(f"expires:    {_expires_text(expires_at)}")
    if credentials is not None:
        print(f"account:    {credentials.user} (api_id {credentials.api_id})")
    return EXIT_OK


def cmd_ping(args: argparse.Namespace) -> int:
    from tray_app.core.session import LIFETIME

    client = _client(args)
    session_id = _stored_session(_store())
    started = time.time()
    client.ping(session_id)
    _remember_expiry(started + LIFETIME)
    print(f"OK: session {mask_id(session_id)} alive for 15:00")
    return EXIT_OK


def cmd_session_id(args: argparse.Namespace) -> int:
    print(_stored_session(_store()))
    return EXIT_OK


def cmd_balance(args: argparse.Namespace) -> int:
    from tray_app.core.session import LIFETIME

    client = _client(args)
    session_id = _stored_session(_store())
    started = time.time()
    credit = client.balance(session_id)
    _remember_expiry(started + LIFETIME)
    print(f"credit: {credit:g}")
    return EXIT_OK


def cmd_keepalive(args: argparse.Namespace) -> int:
    from PySide6.QtCore import QCoreApplication

    from tray_app.qt.keeper import Keeper
    from tray_app.services.settings import Settings

    base_url = _base_url(args)
    settings = Settings()
    interval = args.interval or settings.ping_interval_minutes * 60.0
    if interval < 60 and not _is_loopback_url(base_url):
        raise CliError(
            "intervals under 1 minute are only allowed against a loopback server", EXIT_USAGE
        )
    if interval >= 15 * 60:
        raise CliError("the interval must be under the 15-minute session lifetime", EXIT_USAGE)
    app = QCoreApplication.instance() or QCoreApplication([])
    store = _store()
    keeper = Keeper(store, base_url=base_url, interval=interval)
    reporter = _KeepaliveReporter(store.problem)
    keeper.snapshot_changed.connect(reporter.snapshot)
    keeper.event.connect(reporter.event)
    keeper.snapshot_changed.connect(lambda snap: _remember_expiry(snap.expires_at))
    from tray_app.qt.unix_signals import quit_on_signals

    wakeup = quit_on_signals(app)
    keeper.start()
    print(f"keeping the session alive against {base_url}, ping every {interval:g} s", flush=True)
    app.exec()
    keeper.stop()
    wakeup.setEnabled(False)
    print("stopped", flush=True)
    return EXIT_OK


def _is_loopback_url(url: str) -> bool:
    from urllib.parse import urlsplit

    return is_loopback_host(urlsplit(url).hostname)


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


def cmd_simulate(args: argparse.Namespace) -> int:
    from tray_app.sim.server import Simulator

    def report(record: dict[str, object]) -> None:
        print(json.dumps(record), flush=True)

    try:
        simulator = Simulator(
            args.host,
            args.port,
            lifetime=args.lifetime,
            fault_rate=args.fault_rate,
            latency=args.latency,
            on_request=report,
            log_text=getattr(args, "verbose", False),
        )
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot start the simulator: {exc}", EXIT_USAGE) from None
    print(simulator.base_url, flush=True)

    def stop(_signum: int, _frame: object) -> NoReturn:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        simulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
    return EXIT_OK


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "login": cmd_login,
    "logout": cmd_logout,
    "status": cmd_status,
    "ping": cmd_ping,
    "session-id": cmd_session_id,
    "balance": cmd_balance,
    "keepalive": cmd_keepalive,
    "simulate": cmd_simulate,
}
