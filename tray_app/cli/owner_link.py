"""The command line's side of the owner: find it, ask it, turn a refusal into an exit code.

No Qt here: the client is a plain ``AF_UNIX`` socket (:mod:`tray_app.services.control_client`).
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from tray_app.cli.errors import EXIT_OTHER, EXIT_SESSION_GONE, CliError, exit_code_for
from tray_app.core import control
from tray_app.services.control_client import Owner, OwnerUnreachable, ask, find_owner
from tray_app.services.owner_files import UnsafeDirectory


def running_owner(args: argparse.Namespace) -> Owner | None:
    """The owner this command talks to; None means: do the work here. With ``--demo`` a
    running demo is required (its account lives in its memory only)."""
    demo = getattr(args, "demo", False)
    try:
        owner = find_owner(demo=demo)
    except UnsafeDirectory as exc:
        raise CliError(f"cannot look for a running tray: {exc}", EXIT_OTHER) from None
    if owner is None and demo:
        raise CliError(
            "no demo is running; start one with: clickatell-tray --demo", EXIT_SESSION_GONE
        )
    return owner


def answer_of(owner: Owner, op: str, **fields: str) -> dict[str, Any]:
    """The owner's ``ok`` answer; its refusal becomes one line and the documented exit code."""
    try:
        answer = ask(owner, op, fields)
    except OwnerUnreachable as exc:
        raise CliError(str(exc), EXIT_OTHER) from None
    if not answer["ok"]:
        category = answer.get("category")
        code = EXIT_SESSION_GONE if category == control.NO_SESSION else exit_code_for(category)
        raise CliError(str(answer["error"]), code)
    return answer


def kept_by(answer: dict[str, Any]) -> str:
    """``the tray (pid 123)``: who keeps the session, from an answer's ``owner`` field."""
    owner = answer.get("owner") or {}
    kind = owner.get("kind", "owner")
    pid = owner.get("pid")
    return f"the {kind} (pid {pid})" if pid else f"the {kind}"


def iso(epoch: float | None) -> str | None:
    """An epoch as ISO 8601 in local time with its offset, to the second."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="seconds")
