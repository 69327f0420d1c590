"""The entry points: parse, dispatch to a command module, turn failures into one line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from tray_app.cli.common import base_url, setup_console_logging
from tray_app.cli.errors import EXIT_OTHER, CliError, exit_code_for, explain
from tray_app.cli.parser import build_parser
from tray_app.core.protocol import ApiError


def _commands() -> dict[str, Callable[[argparse.Namespace], int]]:
    """The command modules, imported only for a command: the tray's start-up needs none."""
    from tray_app.cli import (
        desktop_entry,
        keepalive,
        session_commands,
        simulate,
        status_commands,
    )

    return {
        **session_commands.COMMANDS,
        **status_commands.COMMANDS,
        "keepalive": keepalive.cmd_keepalive,
        "proxy": keepalive.cmd_proxy,
        "simulate": simulate.cmd_simulate,
        "install-desktop-entry": desktop_entry.cmd_install_desktop_entry,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    verbose = getattr(args, "verbose", False)
    try:
        if args.command is None:
            return _run_tray(args, verbose)
        handler = _commands()[args.command]
        setup_console_logging(verbose)
        return handler(args)
    except CliError as exc:
        print(f"clickatell-tray: {exc}", file=sys.stderr)
        return exc.code
    except ApiError as exc:
        print(f"clickatell-tray: {explain(exc)}", file=sys.stderr)
        return exit_code_for(exc.category) or EXIT_OTHER
    except KeyboardInterrupt:
        return 130


def gui_main() -> int:
    """The gui-script entry: the tray with no console window (desktop entry, autostart)."""
    return main(sys.argv[1:])


def _run_tray(args: argparse.Namespace, verbose: bool) -> int:
    from tray_app.app import run

    url = None if args.demo else base_url(args)
    return run(demo=args.demo, base_url=url, verbose=verbose, hidden=args.hidden)
