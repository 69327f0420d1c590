"""Shared test set-up: Qt offscreen, an injected clock, and the real desktop stack on demand."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")

import pytest

from tray_app.core.clock import FakeClock

pytest_plugins = ["desktop_stack"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
