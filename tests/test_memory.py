"""What the app gives back after its start-up (tray_app.core.memory)."""

from __future__ import annotations

import linecache
import platform
import sys
from pathlib import Path

import pytest
from desktop_stack import child_env, make_sandbox
from processes import running_demo, wait_until

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


def test_the_tray_gives_start_up_memory_back_once_signed_in(tmp_path: Path) -> None:
    """The real demo process logs the release after its first answer, and only once."""
    sandbox = make_sandbox(tmp_path / "sandbox")
    env = child_env({**sandbox.overrides, "QT_QPA_PLATFORM": "offscreen"})

    def released() -> list[str]:
        return [line for line in demo.err.drain() if "start-up caches dropped" in line]

    with running_demo([sys.executable, "-m", "tray_app", "-v"], env, tmp_path) as demo:
        wait_until("the start-up memory released", lambda: bool(released()))
        fetched = lambda: any("getbalance" in line for line in demo.err.drain())  # noqa: E731
        wait_until("the balance fetched", fetched)
        assert any("state: active" in line for line in demo.err.drain())
    assert len(released()) == 1
    assert "allocator trimmed" in released()[0] or not GLIBC
