"""The command line: ``clickatell-tray`` and ``clickatell-tray-gui``."""

from tray_app.cli.main import gui_main, main

__all__ = ["gui_main", "main"]
