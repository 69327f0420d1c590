"""The app against the floor as processes: start-up to the icon, resident memory, idle CPU.

Xvfb + trayer when they are installed (offscreen otherwise, and the table says so); with
``--quick`` always offscreen. The measuring itself is in :mod:`tests.perf.gui`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tests.perf import procs
from tests.perf.desktop import DesktopUnavailable, start_desktop
from tests.perf.gui import (
    IdleFigures,
    Samples,
    Subject,
    app_command,
    floor_command,
    make_env_for,
    make_sandbox,
    measure_idle,
    measure_startup,
)
from tests.perf.report import Row, fmt, ratio_text, verdict
from tests.perf.section import Plan, Result, progress

TARGET_STARTUP = 1.3
TARGET_RSS = 1.25
TARGET_IDLE_CPU_EXTRA_PERCENT = 0.1
SHOWN_TIMEOUT = 30.0
MIN_FLOOR_CPU_NS = 100_000
HEADLINES = ("startup_ratio", "rss_ratio", "idle_cpu_ratio")


def run(plan: Plan) -> Result:
    notes: list[str] = []
    gui = _gui_figures(plan, plan.platform, notes)
    figures = {key: gui.get(key) for key in HEADLINES}
    details = gui.get("details", {})
    return Result(
        figures=figures,
        details=details,
        rows=_rows(figures, details, plan),
        notes=notes,
        missing=[key for key in HEADLINES if figures[key] is None],
    )


@contextlib.contextmanager
def _display(
    choice: str, quick: bool, workdir: Path, notes: list[str]
) -> Iterator[tuple[str, dict[str, str], str]]:
    """The platform, the environment for it and a description; falls back to offscreen."""
    if choice == "offscreen" or (choice == "auto" and quick):
        yield "offscreen", {}, "offscreen"
        return
    try:
        with start_desktop(workdir) as desktop:
            yield "xcb", desktop.overrides, desktop.description
            return
    except DesktopUnavailable as why:
        if choice == "xcb":
            raise SystemExit(f"cannot start the desktop: {why}") from None
        notes.append(f"offscreen fallback: {why} (the start-up is to show(), not to embed)")
    yield "offscreen", {}, "offscreen (fallback)"


def _gui_figures(plan: Plan, choice: str, notes: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="clickatell-perf-") as tmp:
        root = Path(tmp)
        subjects = [
            Subject("app", app_command(), root / "app"),
            Subject("floor", floor_command(), root / "floor"),
        ]
        if importlib.util.find_spec("tray_app.app") is None:
            notes.append("the app is not built yet (no tray_app/app.py): floor only")
            subjects = subjects[1:]
        for subject in subjects:
            make_sandbox(subject.home)
        with _display(choice, plan.quick, root / "desktop", notes) as (name, env, description):
            env_for = make_env_for(name, env, root / "pycache")
            progress(f"start-up on {description}: {plan.startup_runs} runs each")
            startup = measure_startup(
                subjects,
                env_for,
                runs=plan.startup_runs,
                warmup=plan.startup_warmup,
                timeout=SHOWN_TIMEOUT,
            )
            progress(
                f"idle on {description}: {plan.idle_rounds} rounds, RSS at {plan.rss_after:g} s, "
                f"CPU over {plan.cpu_window:g} s"
            )
            idle = measure_idle(
                [s for s in subjects if s.name in startup.values],
                env_for,
                rounds=plan.idle_rounds,
                rss_after=plan.rss_after,
                cpu_window=plan.cpu_window,
                settle=plan.settle,
                timeout=SHOWN_TIMEOUT,
            )
    notes.extend(dict.fromkeys(startup.errors + idle.rss_kib.errors))
    return _gui_summary(startup, idle, description, subjects)


def _ratio(app: float | None, floor: float | None) -> float | None:
    if app is None or floor is None or floor <= 0:
        return None
    return app / floor


def _gui_summary(
    startup: Samples, idle: IdleFigures, description: str, subjects: list[Subject]
) -> dict[str, Any]:
    cpu_ns = idle.cpu_ns
    if not procs.has_schedstat():
        cpu_ns = Samples({n: [v * 1e9 for v in vs] for n, vs in idle.cpu_seconds.values.items()})
    app_ns, floor_ns = cpu_ns.median("app"), cpu_ns.median("floor")
    clamped = floor_ns is not None and floor_ns < MIN_FLOOR_CPU_NS
    cpu_ratio = _ratio(app_ns, max(floor_ns, MIN_FLOOR_CPU_NS) if floor_ns is not None else None)
    window_ns = idle.window * 1e9
    return {
        "startup_ratio": _ratio(startup.median("app"), startup.median("floor")),
        "rss_ratio": _ratio(idle.rss_kib.median("app"), idle.rss_kib.median("floor")),
        "idle_cpu_ratio": cpu_ratio,
        "details": {
            "display": description,
            "commands": {s.name: " ".join(s.command) for s in subjects},
            "startup_ms": {
                "app": startup.median("app"),
                "floor": startup.median("floor"),
                "samples": startup.values,
            },
            "rss_kib": {
                "app": idle.rss_kib.median("app"),
                "floor": idle.rss_kib.median("floor"),
                "samples": idle.rss_kib.values,
                "peak_samples": idle.peak_rss_kib.values,
            },
            "idle_cpu": {
                "window_s": idle.window,
                "app_ms": None if app_ns is None else app_ns / 1e6,
                "floor_ms": None if floor_ns is None else floor_ns / 1e6,
                "app_percent": None if app_ns is None else 100 * app_ns / window_ns,
                "floor_percent": None if floor_ns is None else 100 * floor_ns / window_ns,
                "floor_clamped_to_ms": MIN_FLOOR_CPU_NS / 1e6 if clamped else None,
                "schedstat_ns_samples": idle.cpu_ns.values,
                "proc_stat_seconds_samples": idle.cpu_seconds.values,
                "source": (
                    "sum of /proc/<pid>/task/*/schedstat (ns); /proc/<pid>/stat utime+stime "
                    f"({procs.CLOCK_TICK * 1000:g} ms ticks) kept as a cross-check"
                    if procs.has_schedstat()
                    else "/proc/<pid>/stat utime+stime (no schedstat on this kernel)"
                ),
            },
        },
    }


def _rows(figures: dict[str, Any], details: dict[str, Any], plan: Plan) -> list[Row]:
    display = details.get("display", "")
    where = "" if display.startswith("xcb") else f" [{display or 'not run'}]"
    rows: list[Row] = []
    startup = details.get("startup_ms", {})
    rows.append(
        Row(
            f"startup to icon shown (ms){where}",
            fmt(startup.get("app")),
            fmt(startup.get("floor")),
            ratio_text(figures["startup_ratio"]),
            f"≤ {TARGET_STARTUP}x",
            _check(figures["startup_ratio"], lambda r: r <= TARGET_STARTUP),
        )
    )
    rss = details.get("rss_kib", {})
    rows.append(
        Row(
            f"RSS after {plan.rss_after:g} s idle (MiB){where}",
            fmt(_mib(rss.get("app"))),
            fmt(_mib(rss.get("floor"))),
            ratio_text(figures["rss_ratio"]),
            f"≤ {TARGET_RSS}x",
            _check(figures["rss_ratio"], lambda r: r <= TARGET_RSS),
        )
    )
    cpu = details.get("idle_cpu", {})
    extra = (
        cpu["app_percent"] - cpu["floor_percent"]
        if cpu.get("app_percent") is not None and cpu.get("floor_percent") is not None
        else None
    )
    rows.append(
        Row(
            f"idle CPU over {plan.cpu_window:g} s (ms, % of a core){where}",
            _cpu_text(cpu.get("app_ms"), cpu.get("app_percent")),
            _cpu_text(cpu.get("floor_ms"), cpu.get("floor_percent")),
            ratio_text(figures["idle_cpu_ratio"]),
            f"≤ floor + {TARGET_IDLE_CPU_EXTRA_PERCENT} %",
            _check(extra, lambda e: e <= TARGET_IDLE_CPU_EXTRA_PERCENT),
        )
    )
    return rows


def _check(value: float | None, test: Callable[[float], bool]) -> str:
    return verdict(None if value is None else bool(test(value)))


def _mib(kib: float | None) -> float | None:
    return None if kib is None else kib / 1024


def _cpu_text(ms: float | None, percent: float | None) -> str:
    if ms is None or percent is None:
        return "—"
    return f"{ms:.1f} ({percent:.3f} %)"
