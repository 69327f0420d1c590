"""Running the app as a child process: reading its output and starting ``--demo`` the same way.

Shared by the install, no-secrets-on-disk and real-desktop tests, which all watch a
demo tray from outside, as a person or a session manager would.
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

SHOWN_TIMEOUT = 30.0
SIMULATOR_LINE = "demo: simulator at "


class LineReader:
    """Reads a child's output on a thread, so a test can wait for a line with a timeout."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, prefix: str, timeout: float) -> str:
        """The first line starting with ``prefix``, read already or still to come.

        Fails on timeout or at the end of the output.
        """
        for line in self.lines:
            if line.startswith(prefix):
                return line
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                pytest.fail(f"output ended before {prefix!r}; got {self.lines}")
            self.lines.append(line)
            if line.startswith(prefix):
                return line
        pytest.fail(f"no {prefix!r} line within {timeout:g} s; got {self.lines}")

    def drain(self) -> list[str]:
        """Every line read so far, including those nobody has waited for yet."""
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                return self.lines
            if line is not None:
                self.lines.append(line)

    def rest(self, timeout: float = 5.0) -> str:
        """Everything read so far plus the remainder, once the stream has closed."""
        self._thread.join(timeout)
        return "\n".join(self.drain())


def wait_until(what: str, condition: Callable[[], bool], timeout: float = SHOWN_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout:g} s")
        time.sleep(0.05)


def stop(process: subprocess.Popen[str]) -> int:
    """SIGTERM, as a session manager would; kill only if it does not go."""
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


@dataclass
class DemoRun:
    process: subprocess.Popen[str]
    out: LineReader
    err: LineReader
    base_url: str


def launch_demo(
    command: list[str], env: dict[str, str], cwd: Path
) -> tuple[subprocess.Popen[str], LineReader, LineReader]:
    """``command --demo`` reporting when its icon is shown, with both outputs being read."""
    process = subprocess.Popen(
        [*command, "--demo"],
        env={**env, "CLICKATELL_TRAY_REPORT_SHOWN": "1"},
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    return process, LineReader(process.stdout), LineReader(process.stderr)


@contextmanager
def running_demo(command: list[str], env: dict[str, str], cwd: Path) -> Iterator[DemoRun]:
    """``command --demo`` until its icon is shown; on leaving, SIGTERM and a clean exit 0."""
    process, out, err = launch_demo(command, env, cwd)
    try:
        base_url = out.wait_for(SIMULATOR_LINE, SHOWN_TIMEOUT).removeprefix(SIMULATOR_LINE)
        out.wait_for("tray-shown ", SHOWN_TIMEOUT)
        yield DemoRun(process, out, err, base_url)
    finally:
        code = stop(process) if process.poll() is None else process.returncode
    stderr = err.rest()
    assert code == 0, f"exit {code}\nstdout:\n{out.rest()}\nstderr:\n{stderr}"
    assert "Traceback" not in stderr, stderr


class SimulatorProcess:
    """``clickatell-tray simulate`` as a child, with its JSON request log read line by line."""

    def __init__(self, *args: str, port: int = 0) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tray_app", "simulate", "--port", str(port), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        self.base_url = self.process.stdout.readline().strip()

    def stop(self) -> tuple[int, list[dict[str, object]]]:
        self.process.send_signal(signal.SIGTERM)
        out, _err = self.process.communicate(timeout=10)
        return self.process.returncode, [json.loads(line) for line in out.splitlines() if line]
