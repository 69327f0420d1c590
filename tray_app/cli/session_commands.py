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
from typing import TYPE_CHECKING

from tray_app.cli.common import exchange, store, stored_session
from tray_app.cli.errors import EXIT_OK, EXIT_OTHER, EXIT_USAGE, CliError
from tray_app.cli.owner_link import answer_of, kept_by, running_owner
from tray_app.core.protocol import Command
from tray_app.core.redact import mask_id

if TYPE_CHECKING:
    from tray_app.services.credentials import Credentials, CredentialStore


def _read_password(from_stdin: bool) -> str:
    """The password from standard input or the terminal, as UTF-8 text, or one clear error."""
    if sys.stdin is None:  # started with standard input closed
        raise CliError("standard input is closed: nothing to read the password from", EXIT_USAGE)
    if from_stdin:
        raw = sys.stdin.buffer.readline() if hasattr(sys.stdin, "buffer") else b""
        return _utf8(raw, "the password").rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CliError("no terminal to ask for the password; use --password-stdin", EXIT_USAGE)
    try:
        typed = getpass.getpass("Password: ")
    except UnicodeDecodeError:
        raise CliError("the password is not valid UTF-8 text", EXIT_USAGE) from None
    return _text(typed, "the password")


def _utf8(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CliError(f"{what} is not valid UTF-8 text", EXIT_USAGE) from None


def _text(value: str, what: str) -> str:
    """``value`` if it is real text; arguments that are not UTF-8 arrive as lone surrogates."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise CliError(f"{what} is not valid UTF-8 text", EXIT_USAGE) from None
    return value


def _credentials(args: argparse.Namespace, credential_store: CredentialStore) -> Credentials:
    """What ``login`` signs in with: the options given, the rest from the keyring.

    ``clickatell-tray login`` alone signs in again with the stored credentials, without
    asking (that is what the "sign in again" hint promises); a new API ID or user asks for
    the password, as does ``--password-stdin``.
    """
    from tray_app.services.credentials import Credentials

    stored = None if (args.api_id and args.user) else credential_store.load()
    api_id = args.api_id or (stored.api_id if stored else None)
    user = args.user or (stored.user if stored else None)
    if not api_id or not user:
        raise CliError(
            "no stored credentials: sign in with: clickatell-tray login --api-id ID --user NAME",
            EXIT_USAGE,
        )
    same_account = stored is not None and (api_id, user) == (stored.api_id, stored.user)
    if same_account and not args.password_stdin:
        assert stored is not None
        return stored
    _text(api_id, "the api_id")
    _text(user, "the user name")
    password = _read_password(args.password_stdin)
    if not password:
        raise CliError("no password given", EXIT_USAGE)
    return Credentials(api_id, user, password)


def _pinged_at() -> str:
    """When, not for how long: the server's idle lifetime is its own (15 minutes on
    Clickatell's, whatever ``simulate --lifetime`` says on a test server)."""
    return f" (pinged at {time.strftime('%H:%M:%S')})"


def cmd_login(args: argparse.Namespace) -> int:
    credential_store = store()
    offered = _credentials(args, credential_store)
    owner = running_owner(args)
    if owner is not None:
        fields = {"api_id": offered.api_id, "user": offered.user, "password": offered.password}
        answer = answer_of(owner, "login", **fields)
        print(f"signed in; session {answer['session_id']} kept alive by {kept_by(answer)}")
        return EXIT_OK
    through = exchange(args, credential_store)
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
        print(f"OK: session {answer['session_id']} is alive{_pinged_at()}{renewed}")
        return EXIT_OK
    credential_store = store()
    through = exchange(args, credential_store)
    session_id, _expires_at = stored_session(credential_store)
    proof = through.run(through.attempt(Command.PING, session_id))
    print(f"OK: session {mask_id(proof.session_id)} is alive{_pinged_at()}")
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
