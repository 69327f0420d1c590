"""The argument parser: commands, their options, durations."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable

from tray_app import __version__
from tray_app.cli.errors import EXIT_CODES_HELP

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds from ``90s``, ``15m``, ``1h`` or a bare number of minutes."""
    seconds = parse_delay(text)
    if seconds <= 0:
        raise argparse.ArgumentTypeError("a duration must be more than zero")
    return seconds


def parse_delay(text: str) -> float:
    """A duration as :func:`parse_duration` reads it, where zero (no wait) is allowed."""
    match = _DURATION.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 90s, 10m or 1h)")
    number, unit = match.groups()
    return float(number) * _UNIT_SECONDS[(unit or "m").lower()]


def _share(what: str) -> Callable[[str], float]:
    """An argument type for a share between 0 and 1, named in its error message."""

    def parse(text: str) -> float:
        try:
            rate = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not 0.0 <= rate <= 1.0:
            raise argparse.ArgumentTypeError(f"{what} is a share between 0 and 1")
        return rate

    return parse


_fault_rate = _share("the fault rate")


def _port(text: str) -> int:
    if not text.strip().isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r} (0 to 65535)")
    return int(text)


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

    login = command("login", "sign in; with a tray running, the tray signs in (one session)")
    login.add_argument(
        "--api-id", help="the HTTP API's api_id (default: the stored one, signing in again)"
    )
    login.add_argument("--user", help="the API user name (default: the stored one)")
    login.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    logout = command("logout", "sign out and forget the stored credentials and session ID")
    status = command("status", "show the session: state, masked ID, time to expiry, next ping")
    status.add_argument(
        "--json", action="store_true", help="one JSON object (times in ISO 8601), for prompts"
    )
    ping = command("ping", "ping the session now, which keeps it alive 15 more minutes")
    session_id = command(
        "session-id", "print the live session ID alone, for $(clickatell-tray session-id)"
    )
    session_id.add_argument(
        "--check",
        action="store_true",
        help="exit 4 unless the ID is alive right now (pings it when no tray runs)",
    )
    balance = command("balance", "show the account's credit (this keeps the session alive too)")
    run = command(
        "exec",
        "run CMD with CLICKATELL_SESSION_ID, CLICKATELL_SESSION_EXPIRES and CLICKATELL_BASE_URL "
        "in its environment; exits with CMD's code",
    )
    run.add_argument("cmd", nargs=argparse.REMAINDER, metavar="[--] CMD [ARGS…]")
    for sub in (login, logout, status, ping, session_id, balance, run):
        sub.add_argument(
            "--demo",
            action="store_true",
            default=argparse.SUPPRESS,  # so that `clickatell-tray --demo status` means it too
            help="ask the running demo (clickatell-tray --demo) instead of the real app",
        )
    keepalive = command("keepalive", "keep the session alive from a terminal, without a tray")
    proxy = command(
        "proxy",
        "keepalive that also serves the API on 127.0.0.1 with the live session ID filled in; "
        "prints its URL",
    )
    proxy.add_argument(
        "--port", type=_port, default=0, help="port on 127.0.0.1 (default: a free one)"
    )
    for owner in (keepalive, proxy):
        owner.add_argument(
            "--interval",
            type=parse_duration,
            default=None,
            help="time between pings (default: the settings, 10m); under 1m only on loopback",
        )
    desktop = command(
        "install-desktop-entry",
        "add the app to this user's applications menu (the entry and its icons)",
    )
    desktop.add_argument(
        "--uninstall", action="store_true", help="remove the entry and the icons again"
    )
    simulate = command("simulate", "run a local server that speaks the API, for testing clients")
    simulate.add_argument("--host", default="127.0.0.1", help="address to listen on")
    simulate.add_argument("--port", type=_port, default=0, help="port (default: a free one)")
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
    simulate.add_argument(
        "--to-gateway",
        type=parse_delay,
        default=1.0,
        help="how long a sent message stays queued (status 002) before the gateway (default 1s)",
    )
    simulate.add_argument(
        "--to-handset",
        type=parse_delay,
        default=3.0,
        help="how long it then stays at the gateway (003) before it is received (default 3s)",
    )
    simulate.add_argument(
        "--delivery-failure-rate",
        type=_share("the delivery failure rate"),
        default=0.0,
        help="share of messages whose delivery fails (status 007)",
    )
    return parser
