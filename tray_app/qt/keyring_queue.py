"""The keeper's keyring worker (:mod:`tray_app.qt.keeper` says why it has its own): its jobs in
order, and whether any is still to run.

The count of jobs not yet run lets the keeper write a record at once (a ping's new expiry) only
when nothing queued before it could land after it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from tray_app.qt.runners import Done, Runner


class KeyringQueue:
    """Jobs for the keyring on a runner of their own, counted from submit until they have run."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner
        self._lock = threading.Lock()
        self._queued = 0

    @property
    def idle(self) -> bool:
        """Nothing submitted is still waiting or running: a write made now lands last."""
        return self._queued == 0

    def submit(self, job: Callable[[], object], done: Done = None) -> None:
        """Queue ``job`` on the keyring worker, counting it until it has run."""
        with self._lock:
            self._queued += 1

        def counted() -> object:
            try:
                return job()
            finally:
                with self._lock:
                    self._queued -= 1

        self._runner.submit(counted, done)

    def shutdown(self, wait: float) -> bool:
        """Run no more jobs after those queued; wait up to ``wait`` s for them, True if done."""
        return self._runner.shutdown(wait=wait)
