"""Start-up, resident memory, idle CPU and wake-ups of tray processes: the app and the floors.

Each process runs with ``CLICKATELL_TRAY_REPORT_SHOWN=1`` and prints ``tray-shown <ns>``
(``time.time_ns()``) once its icon is shown; start-up is that minus ``time.time_ns()`` taken
just before the launcher spawns it, so how fast this process reads the pipe does not count.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.desktop_services import make_user_folders, user_folders
from tests.perf import procs
from tests.perf.desktop import child_env, stop

REPORT_SHOWN = "CLICKATELL_TRAY_REPORT_SHOWN"
SHOWN_PREFIX = "tray-shown "
FLOOR_SCRIPT = Path(__file__).with_name("floor_tray.py")


@dataclass(frozen=True)
class Subject:
    """A tray program to measure, with its own throw-away HOME kept for the whole run."""

    name: str
    command: tuple[str, ...]
    home: Path


def app_command() -> tuple[str, ...]:
    """The ``clickatell-tray --demo`` a user runs, from this interpreter's environment."""
    script = Path(sys.executable).with_name("clickatell-tray")
    if script.exists():
        return (str(script), "--demo")
    return (sys.executable, "-m", "tray_app", "--demo")


def everyday_command(base_url: str) -> tuple[str, ...]:
    """The tray as people keep it running, against ``base_url``, with its credentials stored."""
    return (*app_command()[:-1], "--base-url", base_url)


def floor_command() -> tuple[str, ...]:
    return (sys.executable, str(FLOOR_SCRIPT))


def sandbox_env(root: Path) -> dict[str, str]:
    """HOME and the XDG folders under ``root``."""
    return {key: str(path) for key, path in user_folders(root).items()}


def make_sandbox(root: Path) -> None:
    """Create the folders of :func:`sandbox_env` afresh; the runtime folder is private."""
    shutil.rmtree(root, ignore_errors=True)
    make_user_folders(root)


class TrayProcess:
    """One started tray program, its output read on a thread so its pipe never fills."""

    def __init__(self, subject: Subject, env: dict[str, str], log: Path) -> None:
        self.subject = subject
        self.log = log
        self.shown_ns: int | None = None
        self._shown = threading.Event()
        with log.open("ab") as errors:
            self.started_ns = time.time_ns()
            self.process = subprocess.Popen(
                subject.command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=errors,
            )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode(errors="replace").strip()
            if line.startswith(SHOWN_PREFIX) and self.shown_ns is None:
                try:
                    self.shown_ns = int(line.removeprefix(SHOWN_PREFIX))
                except ValueError:
                    continue
                self._shown.set()
        self._shown.set()

    def wait_shown(self, timeout: float) -> float | None:
        """Milliseconds from spawn to the icon shown, or None if it never said so."""
        self._shown.wait(timeout)
        if self.shown_ns is None:
            return None
        return (self.shown_ns - self.started_ns) / 1e6

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        stop(self.process)
        self._reader.join(timeout=5)

    def failure(self) -> str:
        """Why it did not show: exit status and the end of its stderr."""
        status = self.process.poll()
        state = "still running" if status is None else f"exited with {status}"
        tail = self.log.read_text(errors="replace").strip().splitlines()[-5:]
        return f"{self.subject.name} {state}; stderr: {' | '.join(tail) or '(empty)'}"


@dataclass
class Samples:
    """Per-subject lists of figures, plus what went wrong."""

    values: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, name: str, value: float) -> None:
        self.values.setdefault(name, []).append(value)

    def median(self, name: str) -> float | None:
        values = self.values.get(name)
        return statistics.median(values) if values else None


EnvFor = Callable[[Subject], dict[str, str]]


def make_env_for(platform: str, desktop_overrides: dict[str, str], pycache: Path) -> EnvFor:
    """The environment for a subject: its sandbox, the display (if any) and the platform.

    Bytecode goes to ``pycache`` (shared by both subjects, filled by the warm-up runs) even
    when this shell says ``PYTHONDONTWRITEBYTECODE``: an installed app has its ``.pyc``
    files, and compiling an editable checkout's sources on every start is not its start-up.
    """

    def env_for(subject: Subject) -> dict[str, str]:
        env = child_env(
            {
                **desktop_overrides,
                **sandbox_env(subject.home),
                "QT_QPA_PLATFORM": platform,
                "PYTHONPYCACHEPREFIX": str(pycache),
                REPORT_SHOWN: "1",
            }
        )
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        return env

    return env_for


def measure_startup(
    subjects: Sequence[Subject],
    env_for: EnvFor,
    *,
    runs: int,
    warmup: int,
    timeout: float,
    pause: float = 0.3,
) -> Samples:
    """Spawn-to-shown in ms, subjects interleaved (ABAB…), warm-up runs dropped.

    A subject that fails to show is not tried again.
    """
    samples = Samples()
    broken: set[str] = set()
    for index in range(warmup + runs):
        for subject in subjects:
            if subject.name in broken:
                continue
            tray = TrayProcess(subject, env_for(subject), subject.home / "stderr.log")
            try:
                elapsed = tray.wait_shown(timeout)
                if elapsed is None:
                    samples.errors.append(tray.failure())
                    broken.add(subject.name)
                elif index >= warmup:
                    samples.add(subject.name, elapsed)
            finally:
                tray.stop()
            time.sleep(pause)
    return samples


@dataclass
class IdleFigures:
    rss_kib: Samples
    peak_rss_kib: Samples
    cpu_seconds: Samples
    cpu_ns: Samples
    window: float
    wakeups: Samples = field(default_factory=Samples)
    """Voluntary context switches of all threads over the window."""
    wakeups_by_thread: dict[str, dict[str, int]] = field(default_factory=dict)
    """The last round's wake-ups per thread name, per subject: whose they are."""
    wakeups_before: Samples = field(default_factory=Samples)
    """Voluntary context switches from the sampling's start until the window opens."""


def measure_idle(
    subjects: Sequence[Subject],
    env_for: EnvFor,
    *,
    rounds: int,
    rss_after: float,
    cpu_window: float,
    settle: float,
    timeout: float,
) -> IdleFigures:
    """RSS after ``rss_after`` s and CPU over ``cpu_window`` s (from ``settle`` s) after shown.

    In each round the subjects start one after another (so start-ups never overlap), then
    idle side by side through the same window; the start order alternates between rounds.
    """
    figures = IdleFigures(Samples(), Samples(), Samples(), Samples(), cpu_window)
    errors = figures.rss_kib.errors
    for index in range(rounds):
        order = list(subjects) if index % 2 == 0 else list(reversed(subjects))
        running: list[TrayProcess] = []
        try:
            for subject in order:
                tray = TrayProcess(subject, env_for(subject), subject.home / "stderr.log")
                running.append(tray)
                if tray.wait_shown(timeout) is None:
                    errors.append(tray.failure())
                    running.remove(tray)
                    tray.stop()
            _sample_idle(running, figures, rss_after=rss_after, settle=settle)
        finally:
            for tray in running:
                tray.stop()
    return figures


def _sample_idle(
    running: list[TrayProcess], figures: IdleFigures, *, rss_after: float, settle: float
) -> None:
    start = time.monotonic()
    schedule = sorted(
        [(0.0, "start"), (settle, "cpu0"), (rss_after, "rss"), (settle + figures.window, "cpu1")],
        key=lambda item: item[0],
    )
    at_start: dict[int, dict[str, int]] = {}
    cpu0: dict[int, tuple[float, dict[str, int], dict[str, int]]] = {}
    for at, what in schedule:
        time.sleep(max(0.0, start + at - time.monotonic()))
        for tray in running:
            name, pid = tray.subject.name, tray.pid
            if not tray.alive():
                figures.rss_kib.errors.append(f"{name} died while idle: {tray.failure()}")
                continue
            if what == "start":
                at_start[pid] = procs.thread_wakeups(pid)
            elif what == "cpu0":
                cpu0[pid] = (
                    procs.cpu_seconds(pid),
                    procs.thread_cpu_ns(pid),
                    procs.thread_wakeups(pid),
                )
                if pid in at_start:
                    before = procs.cpu_ns_between(at_start[pid], cpu0[pid][2])
                    figures.wakeups_before.add(name, before)
            elif what == "rss":
                figures.rss_kib.add(name, procs.rss_kib(pid))
                figures.peak_rss_kib.add(name, procs.peak_rss_kib(pid))
            elif pid in cpu0:
                seconds, threads, switches = cpu0[pid]
                figures.cpu_seconds.add(name, procs.cpu_seconds(pid) - seconds)
                figures.cpu_ns.add(name, procs.cpu_ns_between(threads, procs.thread_cpu_ns(pid)))
                now = procs.thread_wakeups(pid)
                figures.wakeups.add(name, procs.cpu_ns_between(switches, now))
                names = procs.thread_names(pid)
                by_name: dict[str, int] = {}
                for tid, count in now.items():
                    label = names.get(tid, tid)
                    by_name[label] = by_name.get(label, 0) + count - switches.get(tid, 0)
                figures.wakeups_by_thread[name] = by_name
