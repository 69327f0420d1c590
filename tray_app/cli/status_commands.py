"""The commands that read the session: status (text or JSON), session-id, exec.

With an owner running they print its truth; with none, what the keyring holds (``status``,
``session-id``) or what a ping proves (``session-id --check``, ``exec``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from tray_app.cli.common import base_url, exchange, store, stored_session
from tray_app.cli.errors import EXIT_OK, EXIT_OTHER, EXIT_SESSION_GONE, EXIT_USAGE, CliError
from tray_app.cli.owner_link import answer_of, iso, kept_by, running_owner
from tray_app.core.protocol import ApiError, Command, ErrorCategory
from tray_app.core.redact import mask_id
from tray_app.core.state import mm_ss

_HAS_SESSION = ("active", "retrying", "paused")


def _status_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The status as the owner tells it, or as the keyring holds it when no owner runs."""
    owner = running_owner(args)
    if owner is not None:
        answer = answer_of(owner, "status")
        answer.pop("ok")
        return answer
    url = base_url(args)
    credential_store = store()
    session_id, expires_at = credential_store.load_session()
    credentials = credential_store.load()
    if credential_store.problem:
        raise CliError(credential_store.problem, EXIT_OTHER)
    if not session_id:
        state = "signed out" if credentials is None else "no session"
    else:
        state = "expired" if expires_at is not None and expires_at <= time.time() else "active"
    return {
        "state": state,
        "session_id": mask_id(session_id) if session_id else None,
        "expires_at": expires_at if session_id else None,
        "next_ping_at": None,
        "last_error": None,
        "base_url": url,
        "account": (
            {"api_id": credentials.api_id, "user": credentials.user} if credentials else None
        ),
        "proxy_url": None,
        "owner": None,
    }


def cmd_status(args: argparse.Namespace) -> int:
    fields = _status_fields(args)
    code = (
        EXIT_OK if fields["session_id"] and fields["state"] in _HAS_SESSION else EXIT_SESSION_GONE
    )
    if args.json:
        expires_at = fields["expires_at"]
        shown = {
            "state": fields["state"],
            "session_id": fields["session_id"],
            "expires_at": iso(expires_at),
            "expires_in": max(0, round(expires_at - time.time())) if expires_at else None,
            "next_ping_at": iso(fields["next_ping_at"]),
            "base_url": fields["base_url"],
            "account": fields["account"],
            "proxy_url": fields["proxy_url"],
            "owner": fields["owner"],
            "last_error": fields["last_error"],
        }
        print(json.dumps(shown))
        return code
    print(f"state:      {fields['state']}")
    if fields["session_id"]:
        print(f"session ID: {fields['session_id']}")
        print(f"expires:    {_expires_text(fields['expires_at'], fields['owner'] is not None)}")
    if fields["next_ping_at"] is not None:
        print(f"next ping:  in {mm_ss(fields['next_ping_at'] - time.time())}")
    if fields["account"]:
        print(f"account:    {fields['account']['user']} (api_id {fields['account']['api_id']})")
    print(f"server:     {fields['base_url']}")
    if fields["proxy_url"]:
        print(f"proxy:      {fields['proxy_url']}")
    if fields["last_error"]:
        print(f"last error: {fields['last_error']}")
    keeper = kept_by(fields) if fields["owner"] else "nothing (no tray or keepalive runs)"
    print(f"kept by:    {keeper}")
    return code


def _expires_text(expires_at: float | None, owned: bool) -> str:
    if expires_at is None:
        return "unknown"
    caveat = "" if owned else " (if not used elsewhere since)"
    left = expires_at - time.time()
    if left <= 0:
        return f"expired{' (unless used elsewhere since)' if not owned else ''}"
    return f"in {mm_ss(left)}{caveat}"


def _live_session(args: argparse.Namespace, *, prove: bool) -> tuple[str, float | None, str]:
    """The session ID, its expiry and the base URL for tools. From the owner when one runs
    (its answer means alive now); else from the keyring, pinged first when ``prove``."""
    owner = running_owner(args)
    if owner is not None:
        answer = answer_of(owner, "session-id")
        return answer["session_id"], answer.get("expires_at"), answer["base_url"]
    credential_store = store()
    through = exchange(args, credential_store)
    session_id, expires_at = stored_session(credential_store)
    if prove:
        try:
            receipt = through.run(through.attempt(Command.PING, session_id))
        except ApiError as exc:
            if exc.category is ErrorCategory.SESSION_GONE:
                raise CliError(f"the stored session is gone ({exc})", EXIT_SESSION_GONE) from None
            raise
        session_id, expires_at = receipt.session_id, receipt.expires_at
    return session_id, expires_at, base_url(args)


def cmd_session_id(args: argparse.Namespace) -> int:
    session_id, _expires_at, _url = _live_session(args, prove=args.check)
    print(session_id)
    return EXIT_OK


def cmd_exec(args: argparse.Namespace) -> int:
    """Run a command with the live session in its environment, never on its command line."""
    command = list(args.cmd)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise CliError(
            "exec needs a command to run, e.g.: clickatell-tray exec -- curl …", EXIT_USAGE
        )
    try:
        session_id, expires_at, url = _live_session(args, prove=True)
    except CliError as exc:
        if exc.code == EXIT_SESSION_GONE:
            raise CliError(f"{exc}; {command[0]} was not run", exc.code) from None
        raise
    env = {
        **os.environ,
        "CLICKATELL_SESSION_ID": session_id,
        "CLICKATELL_SESSION_EXPIRES": iso(expires_at) or "",
        "CLICKATELL_BASE_URL": url,
    }
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(command[0], command, env)
    except OSError as exc:
        code = 127 if isinstance(exc, FileNotFoundError) else 126
        raise CliError(f"cannot run {command[0]}: {exc.strerror}", code) from None
    return EXIT_OTHER  # not reached: execvpe replaces this process


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "status": cmd_status,
    "session-id": cmd_session_id,
    "exec": cmd_exec,
}
