"""The worker runner: a job whose end nobody waits for sends nothing back to the GUI thread.

The keeper records each ping's proof on its keyring worker and ignores how it ended; posting
that end back woke the GUI thread once more per ping for nothing.
"""

from __future__ import annotations

import threading
import time

from pytestqt.qtbot import QtBot

from tray_app.qt.runners import SyncRunner, ThreadRunner


def test_a_job_without_a_done_callback_posts_nothing_back(qtbot: QtBot) -> None:
    runner = ThreadRunner()
    posted: list[object] = []
    runner._finished.connect(lambda _done, result: posted.append(result))
    ran = threading.Event()
    heard: list[object] = []

    runner.submit(ran.set)
    runner.submit(lambda: 7, heard.append)
    qtbot.waitUntil(lambda: heard == [7])

    assert ran.is_set()
    assert posted == [7], "the job nobody listens to was posted back"
    runner.shutdown()


def test_the_inline_runner_takes_a_job_without_a_done_callback() -> None:
    ran: list[int] = []
    SyncRunner().submit(lambda: ran.append(1))
    assert ran == [1]


def test_a_failing_job_nobody_waits_for_leaves_the_worker_running_the_next(qtbot: QtBot) -> None:
    runner = ThreadRunner()
    ran: list[str] = []

    def fails() -> None:
        ran.append("fails")
        raise OSError("the keyring went away")

    runner.submit(fails)
    runner.submit(lambda: ran.append("next") or "answer", ran.append)
    qtbot.waitUntil(lambda: "answer" in ran)
    assert ran == ["fails", "next", "answer"]
    assert runner.shutdown(wait=5)


def test_a_job_reaches_the_worker_after_the_events_already_posted(qtbot: QtBot) -> None:
    # The tick's icon repaint is such an event: the worker must not fight it for the GIL.
    from PySide6.QtCore import QTimer

    runner = ThreadRunner(after_posted_events=True)
    repainted = threading.Event()
    QTimer.singleShot(0, repainted.set)
    heard: list[object] = []

    runner.submit(repainted.is_set, heard.append)
    time.sleep(0.2)  # the lock let go, as a Qt call lets it go: a worker holding the job runs it
    qtbot.waitUntil(lambda: heard != [])

    assert heard == [True], "the job ran before the event posted ahead of it"
    assert runner.shutdown(wait=5)


def test_a_job_reaches_the_worker_after_a_repaint_already_asked_for(qtbot: QtBot) -> None:
    # Qt posts a widget's repaint behind every ordinary event: the tray icon's, after a tick.
    from PySide6.QtGui import QPaintEvent
    from PySide6.QtWidgets import QWidget

    class Canvas(QWidget):
        painted = threading.Event()

        def paintEvent(self, event: QPaintEvent) -> None:
            time.sleep(0.05)  # lets go of the lock, as the icon engine's Qt calls do
            self.painted.set()

    canvas = Canvas()
    qtbot.addWidget(canvas)
    canvas.show()
    qtbot.waitExposed(canvas)
    qtbot.waitUntil(canvas.painted.is_set)
    canvas.painted.clear()
    runner = ThreadRunner(after_posted_events=True)
    heard: list[object] = []

    canvas.update()
    runner.submit(canvas.painted.is_set, heard.append)
    time.sleep(0.2)  # a worker already holding the job would run it now
    qtbot.waitUntil(lambda: heard != [])

    assert heard == [True], "the job ran before the repaint asked for ahead of it"
    assert runner.shutdown(wait=5)


def test_a_job_still_waiting_to_be_handed_over_runs_at_shutdown(qtbot: QtBot) -> None:
    runner = ThreadRunner(after_posted_events=True)
    ran = threading.Event()
    runner.submit(ran.set)  # no event loop turn before the shutdown
    assert runner.shutdown(wait=5)
    assert ran.is_set()


def test_a_job_still_waiting_goes_to_the_fresh_worker_after_an_abandon(qtbot: QtBot) -> None:
    runner = ThreadRunner(after_posted_events=True)
    ran = threading.Event()
    runner.submit(ran.set)
    runner.abandon()
    assert ran.wait(5)
    assert runner.shutdown(wait=5)
