"""Start-up on a StatusNotifierItem host: from spawn to the item registered with the watcher.

On an SNI panel (xfce4-panel here, on Xvfb with a private bus) nothing is embedded: the icon is
on the panel once the program has registered its item with the panel's
``StatusNotifierWatcher``, which then announces it with ``StatusNotifierItemRegistered``. The
moment is seen from outside, the same way for every program: ``dbus-monitor`` on the stack's
bus stamps that signal, and the item's bus name must belong to the process just started. So
the bare tray, which cannot tell by itself when an SNI host has its item, is timed like the
app. The programs are the gui section's floor, the app in ``--demo`` and in its everyday mode
(real Secret Service on the same bus, signed in against ``clickatell-tray simulate``),
alternating; the median of ``plan.startup_runs`` after the warm-ups. The target is the gui
section's: at most 1.3 times the bare tray.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from desktop_services import ServiceError, stop
from sni_client import connection_pid

from tests.perf.desktop_idle_bench import XFCE_TOOLS, xfce_stack
from tests.perf.everyday import start_everyday
from tests.perf.gui import (
    Samples,
    Subject,
    app_command,
    everyday_command,
    floor_command,
    make_env_for,
    make_sandbox,
)
from tests.perf.gui_section import TARGET_STARTUP
from tests.perf.report import Row, fmt, ratio_text, verdict
from tests.perf.section import Plan, Result, progress

REGISTERED = (
    "type='signal',interface='org.kde.StatusNotifierWatcher',member='StatusNotifierItemRegistered'"
)
REGISTER_TIMEOUT = 30.0


class Registrations:
    """``dbus-monitor`` watching the watcher's announcements: (time, item) as they come."""

    def __init__(self, address: str) -> None:
        self._process = subprocess.Popen(
            ["dbus-monitor", "--address", address, REGISTERED],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self._process.stdout is not None
        self._stream = self._process.stdout
        self._stream.readline()  # its first line comes once it has become a monitor
        self._seen: list[tuple[float, str]] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        stamp: float | None = None
        for line in self._stream:
            if line.startswith("signal "):
                found = re.search(r"time=(\d+\.\d+)", line)
                stamp = float(found.group(1)) if found else None
            elif stamp is not None and (item := re.search(r'string "([^"]+)"', line)):
                with self._changed:
                    self._seen.append((stamp, item.group(1)))
                    self._changed.notify_all()
                stamp = None

    def next_after(self, count: int, timeout: float) -> tuple[float, str] | None:
        """The announcement after the first ``count`` ones, waiting up to ``timeout``."""
        with self._changed:
            self._changed.wait_for(lambda: len(self._seen) > count, timeout)
            return self._seen[count] if len(self._seen) > count else None

    def __len__(self) -> int:
        with self._changed:
            return len(self._seen)

    def close(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=5)
        self._reader.join(timeout=5)


def _registered_ms(
    subject: Subject, env: dict[str, str], address: str, watch: Registrations
) -> float | str:
    """Milliseconds from spawn to this program's item announced, or why there is none."""
    before = len(watch)
    log = subject.home / "stderr.log"
    with log.open("ab") as errors:
        started = time.time()
        process = subprocess.Popen(
            subject.command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
    try:
        while True:
            seen = watch.next_after(before, REGISTER_TIMEOUT)
            if seen is None:
                return f"{subject.name}: no item registered within {REGISTER_TIMEOUT:g} s"
            stamp, item = seen
            name = item.partition("/")[0]
            with contextlib.suppress(ServiceError):
                if connection_pid(address, name) == process.pid:
                    return (stamp - started) * 1000
            before += 1  # somebody else's item: wait for the next one
    finally:
        stop(process)


def _measure(subjects: list[Subject], env_for: Any, address: str, plan: Plan) -> Samples:
    samples = Samples()
    broken: set[str] = set()
    watch = Registrations(address)
    try:
        for index in range(plan.startup_warmup + plan.startup_runs):
            for subject in subjects:
                if subject.name in broken:
                    continue
                got = _registered_ms(subject, env_for(subject), address, watch)
                if isinstance(got, str):
                    samples.errors.append(got)
                    broken.add(subject.name)
                elif index >= plan.startup_warmup:
                    samples.add(subject.name, got)
                time.sleep(0.3)
    finally:
        watch.close()
    return samples


@contextlib.contextmanager
def _subjects(root: Path, address: str, notes: list[str]) -> Iterator[list[Subject]]:
    for name in ("floor", "demo", "everyday"):
        make_sandbox(root / name)
    subjects = [
        Subject("floor", floor_command(), root / "floor"),
        Subject("demo", app_command(), root / "demo"),
    ]
    bus = {"DBUS_SESSION_BUS_ADDRESS": address}
    with start_everyday(root / "services", bus, root / "everyday") as everyday:
        if everyday.signed_in:
            assert everyday.base_url is not None
            command = everyday_command(everyday.base_url)
            subjects.append(Subject("everyday", command, root / "everyday"))
        else:
            notes.append(f"SNI start-up without the everyday mode: {'; '.join(everyday.problems)}")
        yield subjects


def run(plan: Plan) -> Result:
    result = Result()
    absent = [tool for tool in XFCE_TOOLS if shutil.which(tool) is None]
    if absent:
        why = f"start-up on an SNI host not measured: {', '.join(absent)} missing"
        if os.environ.get("CLICKATELL_TRAY_REQUIRE_DESKTOP") == "1":
            result.missing.append(why)
        else:
            result.notes.append(why)
        return result
    runs = f"{plan.startup_runs} runs each after {plan.startup_warmup} warm-up"
    progress(f"start-up on xfce4-panel (SNI): {runs}")
    with tempfile.TemporaryDirectory(prefix="clickatell-sni-start-") as tmp:
        root = Path(tmp)
        try:
            with xfce_stack() as (env, address), _subjects(root, address, result.notes) as subjects:
                env_for = make_env_for("xcb", env, root / "pycache")
                samples = _measure(subjects, env_for, address, plan)
        except ServiceError as exc:
            result.missing.append(f"start-up on an SNI host: {exc.reason}")
            return result
    result.notes.extend(dict.fromkeys(samples.errors))
    medians = {name: samples.median(name) for name in ("floor", "demo", "everyday")}
    ratios = {
        name: None
        if medians[name] is None or not medians["floor"]
        else medians[name] / medians["floor"]
        for name in ("everyday", "demo")
    }
    result.figures["startup_ratio_sni"] = ratios["everyday"]
    result.figures["startup_ratio_sni_demo"] = ratios["demo"]
    result.details["startup_sni_ms"] = {**medians, "samples": samples.values}
    for name in ("everyday", "demo"):
        if ratios[name] is None:
            result.missing.append(f"startup_ratio_sni ({name})")
        result.rows.append(
            Row(
                f"startup to item registered, {name} (ms) [xfce4-panel, SNI]",
                fmt(medians[name]),
                fmt(medians["floor"]) + " floor",
                ratio_text(ratios[name]),
                f"≤ {TARGET_STARTUP}x",
                verdict(None if ratios[name] is None else ratios[name] <= TARGET_STARTUP),
            )
        )
    return result
