"""The tray's own start is read without the full parser, and everything else still gets it.

``tray_options`` takes only the tray's options in their full spelling; anything else goes to
argparse, which must answer as it always did (``--help``, abbreviations, typos, commands).
The last test runs the tray's start with a refused base URL: one line, exit 2, no icon.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tray_app.cli.tray_start import TrayOptions, tray_options


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], TrayOptions()),
        (["--demo"], TrayOptions(demo=True)),
        (["--hidden", "-v"], TrayOptions(hidden=True, verbose=True)),
        (["--verbose", "--demo", "--demo"], TrayOptions(demo=True, verbose=True)),
        (["--base-url", "https://a.example"], TrayOptions(base_url="https://a.example")),
        (
            ["--base-url=https://a.example", "--base-url", "https://b.example"],
            TrayOptions(base_url="https://b.example"),
        ),
        (["--base-url="], TrayOptions(base_url="")),
    ],
)
def test_the_tray_s_own_options_are_read_directly(argv: list[str], expected: TrayOptions) -> None:
    assert tray_options(argv) == expected


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["-h"],
        ["--version"],
        ["--dem"],  # an abbreviation: argparse's to accept
        ["--demo", "status"],
        ["status"],
        ["--base-url"],
        ["--base-url", "--demo"],
        ["--hidden", "--"],
        ["-vv"],
        ["--nope"],
    ],
)
def test_anything_else_goes_to_the_full_parser(argv: list[str]) -> None:
    assert tray_options(argv) is None


def test_abbreviations_and_help_still_answer_as_argparse_does() -> None:
    from tray_app.cli.parser import build_parser

    assert build_parser().parse_args(["--dem"]).demo is True
    shown = subprocess.run(
        [sys.executable, "-m", "tray_app", "--help"], capture_output=True, text=True, timeout=30
    )
    assert shown.returncode == 0
    assert "install-desktop-entry" in shown.stdout
    assert "exit codes:" in shown.stdout


def test_a_refused_base_url_stops_the_tray_with_one_line_and_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tray_app", "--hidden", "--base-url", "http://user:pw@example.com"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("clickatell-tray: bad base URL: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "pw" not in result.stderr
