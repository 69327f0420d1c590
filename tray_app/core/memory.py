"""Give back what start-up used and no longer needs: a resident app should not keep its peak.

Two things stay behind after the tray has started:

* ``linecache`` holds the source of every module imported after PySide6: its import hook reads
  each one (``inspect.getsource``) to see whether it uses PySide, about 10 MiB of text that no
  traceback will ask for. Dropping the cache costs nothing; a traceback re-reads the lines.
* Memory Python freed goes back to the C allocator, which keeps it. On glibc ``malloc_trim(0)``
  hands the free pages of every arena back to the system; elsewhere there is nothing to call.
"""

from __future__ import annotations

import ctypes
import gc
import linecache
import sys


def release_after_start() -> bool:
    """Drop the start-up caches, collect, and trim the allocator; True if it trimmed."""
    linecache.clearcache()
    gc.collect()
    return malloc_trim()


def malloc_trim() -> bool:
    """``malloc_trim(0)`` on glibc; False where there is no such function (musl, macOS, …)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        # The process's own symbols, libc's among them: no library search, no subprocess.
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return False
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return bool(trim(0))
