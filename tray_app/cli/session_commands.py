"""The commands that change or use the session: login, logout, ping, balance.

With an owner running (the tray, ``keepalive``), each asks it and prints its truth: ``login``
hands it the new credentials (one session, never two) and ``logout`` signs it out. With no
owner, each does the work itself through the exchange the keeper uses, so what a request
proves (the ID, the credentials, the expiry) is recorded by the same rules.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from collections.abc import Callable

from tray_app.cli.common import exchange, store, stored_session
from tray_app.cli.errors import EXIT_OK, EXIT_OTHER, EXIT_USAGE, CliError
from tray_app.cli.owner_link import answer_of, kept_by, running_owner
from tray_app.core.protocol import Command
from tray_app.core.redact import mask_id
from tray_app.core.state import mm_ss


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CliError("no terminal to ask for the password; use --password-stdin", EXIT_USAGE)
    return getpass.getpass("Password: ")


def _alive_for(expires_at: float | None) -> str:
    return mm_ss(expires_at - time.time()) if expires_at is not None else "an unknown time"


def cmd_login(args: argparse.Namespace) -> int:
    from tray_app.services.credentials import Credentials

    password = _read_password(args.password_stdin)
    if not password:
        raise CliError("no password given", EXIT_USAGE)
    owner = running_owner(args)
    if owner is not None:
        fields = {"api_id": args.api_id, "user": args.user, "password": password}
        answer = answer_of(owner, "login", **fields)
        print(f"signed in; session {answer['session_id']} kept alive by {kept_by(answer)}")
        return EXIT_OK
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
    owner = running_owner(args)
    if owner is not None:
        answer_of(owner, "logout")
        print("signed out; credentials and session ID forgotten")
        return EXIT_OK
    credential_store = store()
    credential_store.clear()
    if credential_store.problem:
        raise CliError(credential_store.problem, EXIT_OTHER)
    print("signed out; credentials and session ID forgotten")
    return EXIT_OK


def cmd_ping(args: argparse.Namespace) -> int:
    owner = running_owner(args)
    if owner is not None:
        answer = answer_of(owner, "ping")
        renewed = " (signed in again: the ID changed)" if answer.get("renewed") else ""
        alive = _alive_for(answer.get("expires_at"))
        print(f"OK: session {answer['session_id']} alive for {alive}{renewed}")
        return EXIT_OK
    credential_store = store()
    through = exchange(args, credential_store)
    session_id, _expires_at = stored_session(credential_store)
    proof = through.run(through.attempt(Command.PING, session_id))
    print(f"OK: session {mask_id(proof.session_id)} alive for {_alive_for(proof.expires_at)}")
    return EXIT_OK


def cmd_balance(args: argparse.Namespace) -> int:
    owner = running_owner(args)
    if owner is not None:
        answer = answer_of(owner, "balance")
        print(f"credit: {answer['balance']:g}")
        return EXIT_OK
    credential_store = store()
    through = exchange(args, credential_store)
    session_id, _expires_at = stored_session(credential_store)
    proof = through.run(through.attempt(Command.BALANCE, session_id))
    print(f"credit: {proof.balance:g}")
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "login": cmd_login,
    "logout": cmd_logout,
    "ping": cmd_ping,
    "balance": cmd_balance,
}
