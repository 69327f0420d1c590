"""Benchmarks and reliability figures for the tray app: ``python -m tests.perf [--quick]``.

The run compares the app against a minimal PySide6 tray app (``floor_tray.py``) in the same
run, drives the keeper through simulated days against the real simulator, fuzzes the
response parser, prints a table and writes ``perf.json``. Timings are figures, never test
assertions: only ``tests/test_perf_quick.py`` runs this, in ``--quick`` mode, to prove that it
works and that the behaviour figures (requests an hour, fuzz crashes) hold.

The stack helpers (``tests/desktop_services.py``, ``panel_services.py``, ``sni_client.py``,
``wayland_stack.py``) import each other by their bare names, as the tests do; ``tests/`` goes
on the path here, once for every section that starts a desktop stack.
"""

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)
