"""Where the keeper's jobs run: inline for tests, or on a daemon worker thread.

A worker that outlives its runner (abandoned after a hang, or still busy at quit) drops
its result instead of emitting through a QObject that may be deleted by then, which is
what raised "Signal source has been deleted" at exit.
"""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QThread, Signal, Slot

from tray_app.core.os_threads import NamedThread

Done = Callable[[object], None] | None
"""Called on the owner's thread with the job's result or exception; None: nothing to hear,
and then nothing comes back (no wake-up of that thread for a job whose end it ignores)."""


class Runner(Protocol):
    def submit(self, job: Callable[[], object], done: Done = None) -> None:
        """Run ``job`` away from the caller, then call ``done`` with its result or exception."""

    def abandon(self) -> None:
        """Leave the job under way to finish unheard; later jobs go to a fresh worker."""

    def shutdown(self, wait: float = 0.0) -> bool:
        """Run no more jobs after those queued; wait up to ``wait`` s for them, True if done."""


class SyncRunner:
    """Runs jobs inline: for tests that drive days of schedule through a fake clock."""

    def submit(self, job: Callable[[], object], done: Done = None) -> None:
        try:
            result = job()
        except Exception as exc:
            result = exc
        if done is not None:
            done(result)

    def abandon(self) -> None:
        pass

    def shutdown(self, wait: float = 0.0) -> bool:
        return True


_HAND_OVER = QEvent.Type(QEvent.registerEventType())


class ThreadRunner(QObject):
    """One daemon worker thread; results are delivered on the thread that owns the runner.

    A daemon thread, not a QThread, so that a request hanging at quit time
    never holds the app open or aborts it. A worker that outlives its runner
    (abandoned, or still busy at quit) drops its result instead of emitting
    through a deleted QObject.
    """

    _finished = Signal(object, object)

    def __init__(
        self,
        parent: QObject | None = None,
        name: str = "keeper-worker",
        *,
        after_posted_events: bool = False,
    ) -> None:
        """``after_posted_events``: a job submitted on the owner's thread reaches the worker
        only once the events already posted to that thread have run (the tray icon's repaint
        that a minute tick posts, in Python in the icon engine). Handed over at once, the
        worker and that repaint took the interpreter lock from each other at every Qt call,
        each handover a wake-up of both threads: seen with strace, 3 on the GUI thread and 6
        on the worker for one ping. Qt posts a repaint (``UpdateRequest``) at low priority,
        behind every ordinary event, so the hand-over is posted at low priority too: events
        of one priority run in the order they were posted. The job waits for nothing else:
        the same wake of the thread runs the events, then hands it over. Jobs submitted from
        other threads, and every job still waiting at :meth:`shutdown` or :meth:`abandon`,
        go at once.
        """
        super().__init__(parent)
        self._name = name
        self._after_posted_events = after_posted_events
        self._waiting: list[tuple[Callable[[], object], Done]] = []
        self._finished.connect(self._deliver)
        self._start_worker()

    def _start_worker(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], object], Done] | None]
        self._jobs = queue.SimpleQueue()
        self._current = _Worker(self._jobs, self)
        self._thread = NamedThread(target=self._current.run, name=self._name, daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], object], done: Done = None) -> None:
        if not self._after_posted_events or self.thread() is not QThread.currentThread():
            self._jobs.put((job, done))
            return
        self._waiting.append((job, done))
        if len(self._waiting) == 1:
            QCoreApplication.postEvent(
                self, QEvent(_HAND_OVER), Qt.EventPriority.LowEventPriority.value
            )

    def customEvent(self, event: QEvent) -> None:
        if event.type() == _HAND_OVER:
            self._hand_over()

    def _hand_over(self) -> None:
        waiting, self._waiting = self._waiting, []
        for item in waiting:
            self._jobs.put(item)

    def abandon(self) -> None:
        self._current.silence()
        self._jobs.put(None)
        self._start_worker()
        self._hand_over()

    def shutdown(self, wait: float = 0.0) -> bool:
        self._hand_over()
        self._jobs.put(None)
        if wait > 0:
            self._thread.join(wait)
        self._current.silence()
        return not self._thread.is_alive()

    @Slot(object, object)
    def _deliver(self, done: Callable[[object], None], result: object) -> None:
        done(result)


class _Worker:
    """One worker thread's loop; once silenced, it runs what it holds but reports nothing."""

    def __init__(
        self,
        jobs: queue.SimpleQueue[tuple[Callable[[], object], Done] | None],
        runner: ThreadRunner,
    ) -> None:
        self._jobs = jobs
        self._runner: ThreadRunner | None = runner

    def silence(self) -> None:
        # One attribute store: the worker reads it once per result, atomically under the GIL.
        self._runner = None

    def run(self) -> None:
        while (item := self._jobs.get()) is not None:
            job, done = item
            try:
                result = job()
            except Exception as exc:
                result = exc
            runner = self._runner
            if done is None or runner is None:
                continue
            # The runner's QObject may have been deleted without a shutdown (its parent went
            # first at exit): then nobody is left to hear the result.
            with contextlib.suppress(RuntimeError):
                runner._finished.emit(done, result)
