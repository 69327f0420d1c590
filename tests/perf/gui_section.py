"""The app against two floors as processes: start-up to the icon, memory, idle CPU, wake-ups.

Four programs: the app in its everyday mode (credentials in a real Secret Service, signed in
against ``clickatell-tray simulate`` in a process of its own; :mod:`tests.perf.everyday`), the
app in ``--demo``, the bare tray (``floor_tray.py``) and the stack floor (the same tray holding
a ``requests.Session`` after one HTTPS request, and the keyring resolved after one lookup).
Start-up and idle CPU compare with the bare tray, resident memory with the stack floor.
Xvfb + trayer when they are installed (offscreen otherwise, and the table says so); with
``--quick`` always offscreen. The measuring itself is in :mod:`tests.perf.gui`.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tests.perf import procs, wakeup_costs
from tests.perf.desktop import DesktopUnavailable, child_env, start_desktop
from tests.perf.everyday import Everyday, start_everyday
from tests.perf.gui import (
    IdleFigures,
    Samples,
    Subject,
    app_command,
    everyday_command,
    floor_command,
    make_env_for,
    make_sandbox,
    measure_idle,
    measure_startup,
)
from tests.perf.report import INFO, Row, fmt, ratio_text, verdict
from tests.perf.section import Plan, Result, progress

TARGET_STARTUP = 1.3
TARGET_RSS = 1.1
TARGET_IDLE_CPU_EXTRA_PERCENT = 0.05
TARGET_WAKEUPS_PER_HOUR = 70
SHOWN_TIMEOUT = 30.0
MIN_FLOOR_CPU_NS = 100_000
NAMES = ("everyday", "demo", "stack", "floor")
HEADLINES = ("startup_ratio", "startup_ratio_demo", "rss_ratio", "idle_cpu_ratio")
EXTRA = ("rss_ratio_demo", "wakeups_per_hour", "app_minus_stack")


def run(plan: Plan) -> Result:
    notes: list[str] = []
    gui = _gui_figures(plan, plan.platform, notes)
    figures = {key: gui.get(key) for key in (*HEADLINES, *EXTRA)}
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


def _subjects(root: Path, everyday: Everyday, notes: list[str]) -> list[Subject]:
    """The four programs: the two floors, and the app in its everyday mode and in the demo."""
    subjects = [Subject("floor", floor_command(), root / "floor")]
    stack_url = everyday.tls_url or everyday.base_url
    if stack_url is None:
        notes.append("no stack floor: neither the TLS server nor the simulator started")
    else:
        cafile = ("--cafile", str(everyday.cafile)) if everyday.tls_url else ()
        subjects.append(
            Subject("stack", (*floor_command(), "--stack", stack_url, *cafile), root / "stack")
        )
        if everyday.tls_url is None:
            notes.append("stack floor over plain HTTP: openssl is missing for a TLS server")
    subjects.append(Subject("demo", app_command(), root / "demo"))
    if everyday.signed_in:
        assert everyday.base_url is not None
        subjects.append(Subject("everyday", everyday_command(everyday.base_url), root / "everyday"))
    else:
        notes.append(f"no everyday mode: {'; '.join(everyday.problems)}")
    return subjects


def _gui_figures(plan: Plan, choice: str, notes: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="clickatell-perf-") as tmp:
        root = Path(tmp)
        for name in NAMES:
            make_sandbox(root / name)
        with (
            _display(choice, plan.quick, root / "desktop", notes) as (name, env, description),
            start_everyday(root / "services", _bus_of(env), root / "everyday") as everyday,
        ):
            subjects = _subjects(root, everyday, notes)
            env_for = make_env_for(name, {**env, **everyday.overrides}, root / "pycache")
            progress(f"start-up on {description}: {plan.startup_runs} runs each")
            startup = measure_startup(
                subjects,
                env_for,
                runs=plan.startup_runs,
                warmup=plan.startup_warmup,
                timeout=SHOWN_TIMEOUT,
            )
            progress(
                f"idle on {description}: {plan.idle_rounds} round(s), RSS at {plan.rss_after:g} s, "
                f"CPU and wake-ups over {plan.cpu_window:g} s"
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
            served = dict(everyday.requests)
            progress("wake-ups of one expiry record, one new ID and one keeper ping, in here")
            # This process's records go to a state folder of the run, never the user's own.
            bus = {**_bus_of(everyday.overrides), "XDG_STATE_HOME": str(root / "state")}
            costs = wakeup_costs.keyring_costs(bus) if everyday.signed_in else None
            per_event = {
                **(costs or {"expiry_record": None, "new_id_keyring_write": None}),
                "keeper_ping": (
                    wakeup_costs.keeper_ping(everyday.base_url, bus)
                    if everyday.base_url and everyday.signed_in
                    else None
                ),
            }
            parts = _memory_parts(notes, root / "pycache")
    notes.extend(dict.fromkeys(startup.errors + idle.rss_kib.errors))
    summary = _gui_summary(startup, idle, description, subjects, settle=plan.settle)
    summary["details"]["simulator_requests"] = served
    summary["details"]["wakeups"]["per_event"] = per_event
    summary["details"]["rss_parts_kib"] = parts
    return summary


def _memory_parts(notes: list[str], pycache: Path) -> dict[str, int] | None:
    """Each part's resident memory, loaded one after another in a child (memory_parts).

    With the bytecode the programs ran from (``pycache``, filled by their start-ups; the
    modules the programs did not import are compiled by a first, uncounted run): compiling
    a module's source leaves the compiler's memory behind, which an installed app never pays.
    """
    progress("resident memory by part, in a child process")
    env = child_env({"QT_QPA_PLATFORM": "offscreen", "PYTHONPYCACHEPREFIX": str(pycache)})
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for _round in ("compile what is missing", "measure"):
        done = subprocess.run(
            [sys.executable, "-m", "tests.perf.memory_parts"],
            cwd=Path(__file__).resolve().parents[2],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    try:
        parts: dict[str, int] = json.loads(done.stdout)
    except ValueError:
        notes.append(f"memory by part not measured: {done.stderr.strip()[-300:]}")
        return None
    return parts


def _bus_of(env: dict[str, str]) -> dict[str, str]:
    key = "DBUS_SESSION_BUS_ADDRESS"
    return {key: env[key]} if key in env else {}


def _ratio(app: float | None, floor: float | None) -> float | None:
    if app is None or floor is None or floor <= 0:
        return None
    return app / floor


def _minus(app: float | None, floor: float | None) -> float | None:
    return None if app is None or floor is None else app - floor


def _gui_summary(
    startup: Samples,
    idle: IdleFigures,
    description: str,
    subjects: list[Subject],
    *,
    settle: float,
) -> dict[str, Any]:
    cpu_ns = idle.cpu_ns
    if not procs.has_schedstat():
        cpu_ns = Samples({n: [v * 1e9 for v in vs] for n, vs in idle.cpu_seconds.values.items()})
    window_ns = idle.window * 1e9
    floor_ns = cpu_ns.median("floor")
    clamped = floor_ns is not None and floor_ns < MIN_FLOOR_CPU_NS
    cpu_base = max(floor_ns, MIN_FLOOR_CPU_NS) if floor_ns is not None else None
    ms = {name: startup.median(name) for name in NAMES}
    rss = {name: idle.rss_kib.median(name) for name in NAMES}
    cpu = {name: cpu_ns.median(name) for name in NAMES}
    per_hour = 3600 / idle.window
    wakes = {
        name: None if (n := idle.wakeups.median(name)) is None else n * per_hour for name in NAMES
    }
    return {
        "startup_ratio": _ratio(ms["everyday"], ms["floor"]),
        "startup_ratio_demo": _ratio(ms["demo"], ms["floor"]),
        "rss_ratio": _ratio(rss["everyday"], rss["stack"]),
        "rss_ratio_demo": _ratio(rss["demo"], rss["floor"]),
        "idle_cpu_ratio": _ratio(cpu["everyday"], cpu_base),
        "wakeups_per_hour": wakes,
        "app_minus_stack": {
            "rss_mib": _mib(_minus(rss["everyday"], rss["stack"])),
            "startup_ms": _minus(ms["everyday"], ms["stack"]),
        },
        "details": {
            "display": description,
            "commands": {s.name: " ".join(s.command) for s in subjects},
            "startup_ms": {**ms, "samples": startup.values},
            "rss_kib": {
                **rss,
                "samples": idle.rss_kib.values,
                "peak_samples": idle.peak_rss_kib.values,
            },
            "idle_cpu": {
                "window_s": idle.window,
                **{f"{n}_ms": None if v is None else v / 1e6 for n, v in cpu.items()},
                **{
                    f"{n}_percent": None if v is None else 100 * v / window_ns
                    for n, v in cpu.items()
                },
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
            "wakeups": {
                "window_s": idle.window,
                "samples": idle.wakeups.values,
                "by_thread_last_round": idle.wakeups_by_thread,
                "before_window": {n: idle.wakeups_before.median(n) for n in NAMES},
                "before_window_samples": idle.wakeups_before.values,
                "window_opens_after_shown_s": settle,
                "source": "voluntary_ctxt_switches of /proc/<pid>/task/*/status, per hour",
            },
        },
    }


def _rows(figures: dict[str, Any], details: dict[str, Any], plan: Plan) -> list[Row]:
    display = details.get("display", "")
    where = "" if display.startswith("xcb") else f" [{display or 'not run'}]"
    startup = details.get("startup_ms", {})
    rss = details.get("rss_kib", {})
    cpu = details.get("idle_cpu", {})
    wakes = figures.get("wakeups_per_hour") or {}
    minus = figures.get("app_minus_stack") or {}
    rows = [
        Row(
            f"startup to icon shown, everyday (ms){where}",
            fmt(startup.get("everyday")),
            fmt(startup.get("floor")) + " floor",
            ratio_text(figures["startup_ratio"]),
            f"≤ {TARGET_STARTUP}x",
            _check(figures["startup_ratio"], lambda r: r <= TARGET_STARTUP),
        ),
        Row(
            f"startup to icon shown, demo (ms){where}",
            fmt(startup.get("demo")),
            fmt(startup.get("floor")) + " floor",
            ratio_text(figures["startup_ratio_demo"]),
            f"≤ {TARGET_STARTUP}x",
            _check(figures["startup_ratio_demo"], lambda r: r <= TARGET_STARTUP),
        ),
        Row(
            f"startup, everyday minus stack floor (ms){where}",
            fmt(minus.get("startup_ms")),
            fmt(startup.get("stack")) + " stack",
            "",
            "figure only",
            INFO,
        ),
        Row(
            f"RSS after {plan.rss_after:g} s idle, everyday (MiB){where}",
            fmt(_mib(rss.get("everyday"))),
            fmt(_mib(rss.get("stack"))) + " stack",
            ratio_text(figures["rss_ratio"]),
            f"≤ {TARGET_RSS}x",
            _check(figures["rss_ratio"], lambda r: r <= TARGET_RSS),
        ),
        Row(
            f"RSS, everyday minus stack floor (MiB){where}",
            fmt(minus.get("rss_mib")),
            "",
            "",
            "figure only",
            INFO,
        ),
        Row(
            f"RSS after {plan.rss_after:g} s idle, demo (MiB){where}",
            fmt(_mib(rss.get("demo"))),
            fmt(_mib(rss.get("floor"))) + " floor",
            ratio_text(figures["rss_ratio_demo"]),
            "figure only",
            INFO,
        ),
    ]
    for name in ("everyday", "demo"):
        extra = _minus(cpu.get(f"{name}_percent"), cpu.get("floor_percent"))
        rows.append(
            Row(
                f"idle CPU over {plan.cpu_window:g} s, {name} (ms, % of a core){where}",
                _cpu_text(cpu.get(f"{name}_ms"), cpu.get(f"{name}_percent")),
                _cpu_text(cpu.get("floor_ms"), cpu.get("floor_percent")) + " floor",
                "",
                f"≤ floor + {TARGET_IDLE_CPU_EXTRA_PERCENT} %",
                _check(extra, lambda e: e <= TARGET_IDLE_CPU_EXTRA_PERCENT),
            )
        )
    per_event = details.get("wakeups", {}).get("per_event", {})
    for key, label in (
        ("keeper_ping", "one keeper ping, its record included"),
        ("expiry_record", "one expiry record (state file, the keyring untouched)"),
        ("new_id_keyring_write", "one new ID written to the Secret Service"),
    ):
        rows.append(
            Row(
                f"wake-ups of {label}",
                fmt(per_event.get(key), 1),
                "",
                "",
                "figure only",
                INFO,
            )
        )
    for name in NAMES:
        app = name in ("everyday", "demo")
        rows.append(
            Row(
                f"wake-ups per idle hour, {name} ({plan.cpu_window:g} s){where}",
                fmt(wakes.get(name), 0),
                "" if app else "(floor)",
                "",
                f"≤ {TARGET_WAKEUPS_PER_HOUR}" if app else "figure only",
                _check(wakes.get(name), lambda w: w <= TARGET_WAKEUPS_PER_HOUR) if app else INFO,
            )
        )
    wakeups = details.get("wakeups", {})
    before = wakeups.get("before_window") or {}
    if before:
        shown = ", ".join(f"{n} {fmt(before[n], 0)}" for n in NAMES if before.get(n) is not None)
        rows.append(
            Row(
                f"wake-ups in the first {wakeups.get('window_opens_after_shown_s', 0):g} s "
                f"after the icon, before the window{where}",
                shown or "0",
                "",
                "",
                "figure only",
                INFO,
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
