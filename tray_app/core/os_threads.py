"""Thread names the OS can see, so ``top -H``, py-spy and ``/proc`` say whose a wake-up is.

Python's ``Thread.name`` lives in the interpreter only; the kernel keeps its own 15-byte
name per thread (``/proc/self/task/<tid>/comm``), which every thread inherits from the
process ("python3"). The benchmark counts wake-ups per thread by that name, and a user
looking at a busy laptop sees which of the app's threads woke it. Where there is no such
file (other platforms, a locked-down ``/proc``) naming is skipped: it is a diagnostic,
never a reason to fail.
"""

from __future__ import annotations

import threading

OS_NAME_BYTES = 15
"""The kernel's limit (TASK_COMM_LEN is 16 with the terminating NUL)."""


def os_thread_name(name: str) -> bytes:
    """``name`` as the kernel will hold it: ASCII, at most 15 bytes."""
    return name.encode("ascii", "replace")[:OS_NAME_BYTES]


def name_os_thread(name: str | None = None) -> bool:
    """Give the calling thread its OS name (default: its Python name); True if it took."""
    chosen = threading.current_thread().name if name is None else name
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/comm", "wb") as comm:
            comm.write(os_thread_name(chosen))
    except OSError:
        return False
    return True


class NamedThread(threading.Thread):
    """A thread whose OS thread carries its Python name from its first instruction on."""

    def run(self) -> None:
        name_os_thread(self.name)
        super().run()
