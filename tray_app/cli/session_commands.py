"""The one-shot session commands: login, logout, status, ping, session-id, balance.

With no owner running, each does the work itself through the exchange the keeper uses, so
what a request proves (the ID, the credentials, the expiry) is recorded by the same rules.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from collections.abc import Callable

from tray_app.cli.common import exchange, store, stored_session
from tray_app.cli.errors import EXIT_OK, EXIT_OTHER, EXIT_SESSION_GONE, EXIT_USAGE, CliError
from tray_app.core.protocol import Command
from tray_app.core.redact import mask_id
from tray_app.core.state import mm_ss


def _expires_text(expires_at: float | None) -> str:
    if expires_at is None:
        return "unknown"
    left = expires_at - time.time()
    if left <= 0:
        return "expired (unless used elsewhere since)"
    return f"in {mm_ss(left)} (if not used elsewhere since)"


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CliError("no terminal to ask for the password; use --password-stdin", EXIT_USAGE)
    return getpass.getpass("Password: ")


def cmd_login(args: argparse.Namespace) -> int:
    from tray_app.services.credentials import Credentials

    password = _read_password(args.password_stdin)
    if not password:
        raise CliError("no password given", EXIT_USAGE)
    credential_store = store()
    through = exchange(args, credential_store)
    offered = Credentials(args.api_id, args.user, password)
    proof = through.run(through.attempt(Command.AUTH, offered=offered))
    if not credential_store.persistent:
        raise CliError(
            f"signed in, but nothing could be stored: {credential_store.problem}", EXIT_OTHER
        )
    print(f"signed in; session {mask_id(proof.session_id)} stored in the keyring")
    return EXIT_OK


def cmd_logout(args: argparse.Namespace) -> int:
    credential_store = store()
    credential_store.clear()
    if credential_store.problem:
        raise CliError(credential_store.problem, EXIT_OTHER)
    print("signed out; credentials and session ID forgotten")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    credential_store = store()
    session_id, expires_at = credential_store.load_session()
    credentials = credential_store.load()
    if credential_store.problem:
        raise CliError(credential_store.problem, EXIT_OTHER)
    if not session_id:
        state = "signed out" if credentials is None else "no session (credentials stored)"
        print(f"state:      {state}")
        return EXIT_SESSION_GONE
    stale = expires_at is not None and expires_at <= time.time()
    print(f"state:      {'expired' if stale else 'active'}")
    print(f"session ID: {mask_id(session_id)}")
    print(f"expires:    {_expires_text(expires_at)}")
    if credentials is not None:
        print(f"account:    {credentials.user} (api_id {credentials.api_id})")
    return EXIT_OK


def cmd_ping(args: argparse.Namespace) -> int:
    credential_store = store()
    through = exchange(args, credential_store)
    session_id, _expires_at = stored_session(credential_store)
    proof = through.run(through.attempt(Command.PING, session_id))
    left = mm_ss(proof.expires_at - time.time())
    print(f"OK: session {mask_id(proof.session_id)} alive for {left}")
    return EXIT_OK


def cmd_session_id(args: argparse.Namespace) -> int:
    print(stored_session(store())[0])
    return EXIT_OK


def cmd_balance(args: argparse.Namespace) -> int:
    credential_store = store()
    through = exchange(args, credential_store)
    session_id, _expires_at = stored_session(credential_store)
    proof = through.run(through.attempt(Command.BALANCE, session_id))
    print(f"credit: {proof.balance:g}")
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "login": cmd_login,
    "logout": cmd_logout,
    "status": cmd_status,
    "ping": cmd_ping,
    "session-id": cmd_session_id,
    "balance": cmd_balance,
}
