"""Benchmarks and reliability figures for the tray app: ``python -m tests.perf [--quick]``.

The run compares the app against a minimal PySide6 tray app (``floor_tray.py``) in the same
run, drives the keeper through simulated days against the real simulator, fuzzes the
response parser, prints a table and writes ``perf.json``. Timings are figures, never test
assertions: only ``tests/test_perf_quick.py`` runs this, in ``--quick`` mode, to prove that it
works and that the behaviour figures (requests an hour, fuzz crashes) hold.
"""
