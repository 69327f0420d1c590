"""``clickatell-tray install-desktop-entry [--uninstall]``: the applications-menu launcher."""

from __future__ import annotations

import argparse

from tray_app.cli.errors import EXIT_OK, EXIT_OTHER, CliError


def cmd_install_desktop_entry(args: argparse.Namespace) -> int:
    from tray_app.services.desktop_entry import DesktopEntryError, install, uninstall

    try:
        if args.uninstall:
            removed = uninstall()
            if not removed:
                print("nothing to remove: the desktop entry is not installed")
            else:
                print(f"removed the desktop entry and {len(removed) - 1} icons: {removed[0]}")
            return EXIT_OK
        written = install()
    except DesktopEntryError as exc:
        raise CliError(str(exc), EXIT_OTHER) from None
    print(f"installed the desktop entry: {written[0]}")
    print(f"and {len(written) - 1} icons under {written[1].parents[2]}")
    return EXIT_OK
