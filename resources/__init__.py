"""Bundled images and desktop files, found through importlib.resources.

The top-level ``resources/`` folder is installed as the ``tray_app.resources``
package, so the same lookup works from a source checkout, a wheel and a
frozen build (PyInstaller serves collected data files to importlib.resources).
Callers get a ``Traversable``, not a path: inside a zip it may not be a file;
use ``importlib.resources.as_file`` when an API insists on a real path.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256)
DESKTOP_ENTRY = "io.github.clickatell_session_tray.desktop"


def app_icon_path(size: int | None = None) -> Traversable:
    """The SVG for ``None``; otherwise the smallest PNG at least ``size`` pixels (or the largest).

    Rounding up, then letting Qt scale down, keeps the icon crisp at odd sizes.
    """
    root = files(__name__)
    if size is None:
        return root / "app-icon.svg"
    chosen = next((s for s in ICON_SIZES if s >= size), ICON_SIZES[-1])
    return root / "icons" / f"app-icon-{chosen}.png"


def read_bytes(name: str) -> bytes:
    """Read a bundled file by its ``/``-separated name, e.g. ``"icons/app-icon-32.png"``."""
    return files(__name__).joinpath(*name.split("/")).read_bytes()
