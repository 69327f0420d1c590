"""The tray's own start (no command, or ``--demo``), read without building the full parser.

``clickatell-tray`` with nothing but the tray's options is what the desktop entry and the
autostart entry run, and every millisecond before the icon shows counts there: argparse with
every command's help, the answer parser and the masking rules are not needed for it. So the
few spellings of those options are read here, and anything else at all (a command, ``--help``,
``--version``, an abbreviation, a typo, ``--``, a value that looks like an option) goes to the
full parser in :mod:`tray_app.cli.parser`, which answers it exactly as it always did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

_FLAGS = {"--demo": "demo", "--hidden": "hidden", "-v": "verbose", "--verbose": "verbose"}
_BASE_URL = "--base-url"


@dataclass(frozen=True)
class TrayOptions:
    """What the tray's start reads from its command line."""

    demo: bool = False
    hidden: bool = False
    verbose: bool = False
    base_url: str | None = None


def tray_options(argv: Sequence[str]) -> TrayOptions | None:
    """The tray's options when ``argv`` holds only those, in their full spelling; else None.

    Repeats are allowed and the last ``--base-url`` wins, as with argparse.
    """
    flags = {"demo": False, "hidden": False, "verbose": False}
    base_url: str | None = None
    words = iter(argv)
    for word in words:
        if word in _FLAGS:
            flags[_FLAGS[word]] = True
        elif word.startswith(_BASE_URL + "="):
            base_url = word[len(_BASE_URL) + 1 :]
        elif word == _BASE_URL:
            value = next(words, None)
            if value is None or value.startswith("-"):
                return None
            base_url = value
        else:
            return None
    return TrayOptions(base_url=base_url, **flags)
