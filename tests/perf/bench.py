"""Runs every section of the benchmark, prints the table and writes ``perf.json``.

Full run (about 13 minutes): Xvfb + trayer for start-up, memory, idle CPU and wake-ups when
they are installed (offscreen otherwise, and the table says so), 5 start-ups per program, one
idle round with all four programs side by side, 30 s to the memory sample, 10 minutes of idle
CPU and wake-ups, a 10 s hang, 100 000 fuzz inputs. ``--quick`` (seconds, for the test
suite): offscreen, 1 warm-up and 2 runs, 3 s idle, a 2 s hang, 2 000 fuzz inputs, one
simulated day for the memory growth.

To add a section, write a module with ``run(plan: Plan) -> Result`` (see
:mod:`tests.perf.section`) and append one ``Section`` to ``SECTIONS``.

Exit status: 0 when every figure was measured, whether or not it meets its target; 1 when
some figure could not be measured (the table's notes say why); 2 for a usage error.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from tests.perf import (
    behaviour_section,
    desktop_idle_bench,
    gui_section,
    hostile_bench,
    proxy_bench,
    refleak,
    sim_bench,
    sni_startup,
)
from tests.perf.report import Row, table, write_json
from tests.perf.section import Plan, Result, Section

SECTIONS: list[Section] = [
    Section("gui", gui_section.run),
    Section("sni-startup", sni_startup.run),
    Section("keeper", behaviour_section.run_keeper),
    Section("fuzz", behaviour_section.run_fuzz),
    Section("simulator", sim_bench.run),
    Section("hostile", hostile_bench.run),
    Section("proxy", proxy_bench.run),
    Section("desktop-idle", desktop_idle_bench.run),
]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    names = ", ".join(section.name for section in SECTIONS)
    parser = argparse.ArgumentParser(
        prog="python -m tests.perf",
        description="Benchmarks and reliability figures: the app against a minimal tray app.",
    )
    parser.add_argument("--quick", action="store_true", help="seconds, not minutes (offscreen)")
    parser.add_argument("--out", type=Path, default=Path("perf.json"), help="where to write JSON")
    parser.add_argument(
        "--platform",
        choices=("auto", "xcb", "offscreen"),
        default="auto",
        help="auto: Xvfb + trayer when installed (offscreen with --quick)",
    )
    parser.add_argument("--startup-runs", type=int, help="start-ups per program (default 5)")
    parser.add_argument("--idle-runs", type=int, help="idle rounds per program (default 1)")
    parser.add_argument(
        "--idle-window", type=float, help="seconds of idle CPU and wake-ups (default 600)"
    )
    parser.add_argument("--no-gui", action="store_true", help="skip the app-versus-floor part")
    parser.add_argument(
        "--only", action="append", default=[], metavar="NAME", help=f"run only these ({names})"
    )
    parser.add_argument(
        "--skip", action="append", default=[], metavar="NAME", help="leave these sections out"
    )
    args = parser.parse_args(argv)
    known = {section.name for section in SECTIONS}
    unknown = sorted(set(args.only + args.skip) - known)
    if unknown:
        parser.error(f"no such section: {', '.join(unknown)} (there are: {names})")
    if args.no_gui:
        args.skip.append("gui")
    return args


def chosen(args: argparse.Namespace) -> list[Section]:
    return [
        section
        for section in SECTIONS
        if (not args.only or section.name in args.only) and section.name not in args.skip
    ]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    plan = Plan.fast() if args.quick else Plan.full()
    plan = replace(plan, platform=args.platform)
    if args.startup_runs is not None:
        plan = replace(plan, startup_runs=args.startup_runs)
    if args.idle_runs is not None:
        plan = replace(plan, idle_rounds=args.idle_runs)
    if args.idle_window is not None:
        plan = replace(plan, cpu_window=args.idle_window)
    logging.getLogger("tray_app").addHandler(logging.NullHandler())
    logging.getLogger("tray_app").propagate = False
    leak = refleak.lost_per_call()
    if any(leak.values()):
        print(
            f"PySide6 {_pyside_version()} loses references to None and True ({leak} per call); "
            "the keeper would abort within days. Install another release (not 6.12.0).",
            file=sys.stderr,
        )
        return 1
    figures: dict[str, Any] = {"meta": _meta(plan)}
    details: dict[str, Any] = {}
    rows: list[Row] = []
    notes: list[str] = []
    missing: list[str] = []
    started = time.monotonic()
    sections = chosen(args)
    skipped = [section.name for section in SECTIONS if section not in sections]
    if skipped:
        notes.append(f"sections skipped: {', '.join(skipped)}")
    for section in sections:
        result: Result = section.run(plan)
        figures.update(result.figures)
        details.update(result.details)
        rows += result.rows
        notes += result.notes
        missing += result.missing
    details["binding_refs_lost_per_call"] = leak
    figures["details"] = details
    figures["meta"]["seconds"] = round(time.monotonic() - started, 1)
    figures["meta"]["sections"] = [section.name for section in sections]
    figures["verdicts"] = {row.metric: row.verdict for row in rows}
    figures["notes"] = notes
    figures["missing"] = missing
    display = details.get("display", "not run")
    print(f"\n{figures['meta']['mode']} run; app versus floor on {display}")
    print(table(rows))
    for note in notes:
        print(f"* {note}")
    write_json(args.out, figures)
    print(f"\nwrote {args.out}")
    return 1 if missing else 0


def _pyside_version() -> str:
    import PySide6

    return str(PySide6.__version__)


def _meta(plan: Plan) -> dict[str, Any]:
    return {
        "mode": "quick" if plan.quick else "full",
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "pyside6": _pyside_version(),
        "machine": f"{platform.system()} {platform.release()} {platform.machine()}",
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "plan": plan.__dict__,
    }
