"""What /proc says about a process: resident memory, CPU time and wake-ups."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

CLOCK_TICK = 1 / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int | str = "self") -> int:
    """Resident memory now (``VmRSS``), in KiB."""
    return _status_field(pid, "VmRSS")


def peak_rss_kib(pid: int | str = "self") -> int:
    """The high-water mark of resident memory (``VmHWM``), in KiB."""
    return _status_field(pid, "VmHWM")


def _status_field(pid: int | str, name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1])
    raise LookupError(f"/proc/{pid}/status has no {name}")


def cpu_seconds(pid: int | str = "self") -> float:
    """User plus system time of every thread, dead or alive, from /proc/<pid>/stat.

    The kernel counts it in clock ticks (10 ms here), too coarse for an idle process.
    """
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) * CLOCK_TICK


def thread_cpu_ns(pid: int | str = "self") -> dict[str, int]:
    """Nanoseconds on a CPU per live thread, from /proc/<pid>/task/*/schedstat."""
    times: dict[str, int] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            times[task.name] = int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
    return times


def thread_wakeups(pid: int | str = "self") -> dict[str, int]:
    """Voluntary context switches per live thread, from /proc/<pid>/task/*/status.

    A thread switches voluntarily each time it blocks (in poll, a lock, a queue), so an idle
    thread's count rises by one for every time something woke it: a timer, a socket, a
    timed-out wait.
    """
    counts: dict[str, int] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            for line in (task / "status").read_text().splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    counts[task.name] = int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
    return counts


def thread_names(pid: int | str = "self") -> dict[str, str]:
    """The name of each live thread (``comm``), to say whose wake-ups they are."""
    names: dict[str, str] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            names[task.name] = (task / "comm").read_text().strip()
    return names


def cpu_ns_between(before: dict[str, int], after: dict[str, int]) -> int:
    """CPU time (or any per-thread counter) used between two :func:`thread_cpu_ns` samples.

    A thread that ended in between loses what it used after ``before``; a thread that
    started in between counts in full.
    """
    return sum(ns - before.get(tid, 0) for tid, ns in after.items())


def has_schedstat() -> bool:
    return Path("/proc/self/schedstat").exists()
