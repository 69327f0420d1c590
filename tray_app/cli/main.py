"""The entry points: parse, dispatch to a command module, turn failures into one line.

The tray's own start is read by :mod:`tray_app.cli.tray_start` and goes straight to the app;
the full parser and the command modules are imported only for anything else.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from tray_app.cli.errors import EXIT_OTHER, CliError, exit_code_for, explain
from tray_app.cli.tray_start import TrayOptions, tray_options

if TYPE_CHECKING:
    import argparse


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
    words = sys.argv[1:] if argv is None else list(argv)
    try:
        tray = tray_options(words)
        return _run_tray(tray) if tray is not None else _run_command(words)
    except CliError as exc:
        print(f"clickatell-tray: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from tray_app.core.protocol import ApiError

        if not isinstance(exc, ApiError):
            raise
        print(f"clickatell-tray: {explain(exc)}", file=sys.stderr)
        return exit_code_for(exc.category) or EXIT_OTHER


def gui_main() -> int:
    """The gui-script entry: the tray with no console window (desktop entry, autostart)."""
    return main(sys.argv[1:])


def _run_command(words: list[str]) -> int:
    """Everything but the tray's plain start: the full parser, then the command's module."""
    from tray_app.cli.common import setup_console_logging
    from tray_app.cli.parser import build_parser

    args = build_parser().parse_args(words)
    verbose = getattr(args, "verbose", False)
    if args.command is None:
        options = TrayOptions(args.demo, args.hidden, verbose, getattr(args, "base_url", None))
        return _run_tray(options)
    handler = _commands()[args.command]
    setup_console_logging(verbose)
    return handler(args)


def _run_tray(options: TrayOptions) -> int:
    """The tray; a base URL given here is checked now, the settings' own is read later."""
    from tray_app.app import run
    from tray_app.cli.common import given_base_url

    url = None if options.demo else given_base_url(options.base_url)
    return run(demo=options.demo, base_url=url, verbose=options.verbose, hidden=options.hidden)
