"""PyInstaller entry for the windowed app, the frozen twin of the ``clickatell-tray-gui`` script."""

import sys

from tray_app.cli.main import gui_main

sys.exit(gui_main())
