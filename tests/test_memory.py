"""What the app gives back after its start-up (tray_app.core.memory)."""

from __future__ import annotations

import linecache
import platform
import sys

import pytest

from tray_app.core import memory

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


def test_the_source_cache_is_dropped() -> None:
    """PySide's import hook fills linecache with every module's source; the release empties it."""
    assert linecache.getline(memory.__file__, 1)
    assert linecache.cache
    memory.release_after_start()
    assert not linecache.cache


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise LookupError("no VmRSS")


@pytest.mark.skipif(not GLIBC, reason="malloc_trim is glibc's")
def test_freed_heap_goes_back_to_the_system() -> None:
    """Blocks freed below a live one stay resident until the trim hands their pages back."""
    blocks = [bytearray(4000) for _ in range(20_000)]  # ~80 MB from malloc, under mmap's limit
    keep = blocks[-1]
    del blocks
    before = _rss_kib()
    assert memory.malloc_trim() is True
    assert before - _rss_kib() > 20_000
    assert keep
