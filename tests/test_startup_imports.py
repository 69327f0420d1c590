"""The tray's icon goes up before the heavy parts of the app are even imported.

The app is started as a person starts it (``python -m tray_app``, everyday with ``--hidden``
against the simulator and the throw-away keyring, and ``--demo``), with ``-X importtime``,
whose lines share one pipe with the ``tray-shown`` report: every module named before that
line was imported before the icon was on the panel. What the icon does not need (the full
command-line parser, the answer parser and the masking rules, the logging set-up, the keeper,
``requests``, ``keyring``) must come after it; and it must still come, so the test also sees
the keeper imported once the rest is built.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from desktop_stack import SecretService
from processes import SHOWN_TIMEOUT, LineReader, stop, wait_until

from tray_app.sim.server import Simulator

pytestmark = pytest.mark.slow

NOT_BEFORE_THE_ICON = (
    "tray_app.cli.parser",
    "tray_app.core.protocol",
    "tray_app.core.redact",
    "tray_app.services.logs",
    "tray_app.services.settings",
    "tray_app.services.credentials",
    "tray_app.qt.keeper",
    "tray_app.ui.tray",
    "requests",
    "keyring",
)
BUILT_AFTER_THE_ICON = "tray_app.qt.keeper"


@pytest.fixture
def runtime_dir() -> Iterator[str]:
    """A runtime folder of this test's own, so the tray is the owner there."""
    path = tempfile.mkdtemp(prefix="cst-imp-", dir="/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def imported_until_shown(
    args: list[str], env: dict[str, str], cwd: Path
) -> tuple[set[str], set[str]]:
    """The modules imported before ``tray-shown``, and those imported until the keeper's."""
    process = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "tray_app", *args],
        env={**env, "CLICKATELL_TRAY_REPORT_SHOWN": "1"},
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    out = LineReader(process.stdout)
    try:
        out.wait_for("tray-shown ", SHOWN_TIMEOUT)
        before = _modules(out.lines)
        wait_until(
            "the rest of the app imported", lambda: BUILT_AFTER_THE_ICON in _modules(out.drain())
        )
        return before, _modules(out.lines)
    finally:
        if process.poll() is None:
            stop(process)


def _modules(lines: list[str]) -> set[str]:
    return {
        line.rsplit("|", 1)[1].strip() for line in lines if line.strip().startswith("import time:")
    } - {"imported package"}


@pytest.mark.parametrize("mode", ["everyday", "demo"])
def test_the_icon_is_shown_before_the_heavy_modules_are_imported(
    mode: str, secret_service: SecretService, runtime_dir: str, tmp_path: Path
) -> None:
    env = {**secret_service.env, "XDG_RUNTIME_DIR": runtime_dir, "QT_QPA_PLATFORM": "offscreen"}
    with Simulator().start() as simulator:
        args = ["--demo"] if mode == "demo" else ["--hidden", "--base-url", simulator.base_url]
        before, later = imported_until_shown(args, env, tmp_path)
    assert "tray_app.app" in before, "the icon is the app's: its module came first"
    early = sorted(name for name in NOT_BEFORE_THE_ICON if name in before)
    assert not early, f"imported before the icon was shown: {early}"
    assert BUILT_AFTER_THE_ICON in later
