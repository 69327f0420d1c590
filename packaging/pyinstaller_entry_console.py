"""PyInstaller entry for the command line, the frozen twin of the ``clickatell-tray`` script.

A separate executable because a windowed one has no standard output on Windows.
"""

import sys

from tray_app.cli.main import main

sys.exit(main())
