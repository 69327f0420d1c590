"""The worker runner: a job whose end nobody waits for sends nothing back to the GUI thread.

The keeper records each ping's proof on its keyring worker and ignores how it ended; posting
that end back woke the GUI thread once more per ping for nothing.
"""

from __future__ import annotations

import threading

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
