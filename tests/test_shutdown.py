"""Ending the app: SIGHUP like SIGTERM, and a worker that outlives its runner stays quiet.

A real ``--demo`` process (offscreen, its own HOME and TMPDIR) for the signals, since the
point is what a process does when the terminal or the session goes away.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import shiboken6
from desktop_services import child_env
from processes import SHOWN_TIMEOUT, SIMULATOR_LINE, launch_demo
from PySide6.QtCore import QCoreApplication, QTimer
from pytestqt.qtbot import QtBot

from tray_app.qt.runners import ThreadRunner
from tray_app.qt.unix_signals import quit_on_signals

DEMO_FOLDERS = "clickatell-tray-demo-*"


@pytest.fixture
def demo_env(tmp_path: Path) -> dict[str, str]:
    """Offscreen, no session bus, and a HOME and TMPDIR of this test's own."""
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    return child_env(
        {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_STATE_HOME": str(home / ".local" / "state"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_RUNTIME_DIR": str(tmp),
            "TMPDIR": str(tmp),
            "QT_QPA_PLATFORM": "offscreen",
        }
    )


@pytest.mark.parametrize(
    "sig", [signal.SIGHUP, signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name
)
def test_a_quit_signal_tears_down_and_removes_the_demo_folder(
    demo_env: dict[str, str], tmp_path: Path, sig: signal.Signals
) -> None:
    app, out, err = launch_demo([sys.executable, "-m", "tray_app"], demo_env, tmp_path)
    try:
        out.wait_for("tray-shown ", SHOWN_TIMEOUT)
        out.wait_for(SIMULATOR_LINE, SHOWN_TIMEOUT)  # printed once the folder is made
        folders = list(Path(demo_env["TMPDIR"]).glob(DEMO_FOLDERS))
        assert len(folders) == 1, "the demo made no folder; the test would prove nothing"
        app.send_signal(sig)
        code = app.wait(timeout=30)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    stderr = err.rest()
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert not folders[0].exists()


def test_a_worker_finishing_after_its_runner_was_deleted_raises_nothing(qtbot: QtBot) -> None:
    """At exit the runner's QObject can go before a busy worker ends: the result is dropped.

    It used to be emitted anyway: ``RuntimeError: Signal source has been deleted``.
    """
    release = threading.Event()
    finished = threading.Event()
    raised: list[BaseException] = []
    previous = threading.excepthook
    threading.excepthook = lambda args: raised.append(args.exc_value)  # type: ignore[assignment]
    try:
        runner = ThreadRunner()
        runner.submit(lambda: release.wait(10), lambda _result: None)
        runner.submit(finished.set, lambda _result: None)
        shiboken6.delete(runner)
        release.set()
        assert finished.wait(10)
    finally:
        threading.excepthook = previous
    assert raised == []


@pytest.fixture(autouse=True)
def _no_demo_folder_left(tmp_path: Path) -> Iterator[None]:
    yield
    assert list(tmp_path.rglob(DEMO_FOLDERS)) == []


def test_a_signal_before_the_event_loop_runs_still_quits(qapp: QCoreApplication) -> None:
    """Between setting the handlers and ``exec()`` (start-up under load), a SIGTERM is not lost."""
    previous = {
        sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    }
    notifier = quit_on_signals(qapp)
    guard = QTimer(singleShot=True, interval=10_000)  # should the quit be lost
    guard.timeout.connect(lambda: qapp.exit(99))
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        guard.start()
        assert qapp.exec() == 0
    finally:
        # Left running, the guard would end some later test's event loop ten seconds on.
        guard.stop()
        notifier.setEnabled(False)
        signal.set_wakeup_fd(-1)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
