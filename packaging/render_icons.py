"""Render the PNG icons from resources/app-icon.svg and pack them for Windows and macOS.

The SVG is the only hand-edited icon; the PNGs are committed so that the app and
the desktop need no SVG support at run time. Run this after editing the SVG:

    python packaging/render_icons.py

The PyInstaller spec calls ``pack_ico``/``pack_icns`` at build time, so the
.ico and .icns files are never committed and need no Pillow.
"""

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "resources" / "app-icon.svg"
ICON_DIR = ROOT / "resources" / "icons"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256)

# Sizes Windows picks from an .ico (22 is a Linux panel size only).
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# PNG-bearing ICNS element types by pixel size (Apple's "icns" format).
ICNS_TYPES = {16: b"icp4", 32: b"icp5", 64: b"icp6", 128: b"ic07", 256: b"ic08"}


def png_path(size: int, icon_dir: Path = ICON_DIR) -> Path:
    """Where the PNG of one size lives; resources/__init__.py uses the same pattern."""
    return icon_dir / f"app-icon-{size}.png"


def render_pngs(svg: Path = SVG, icon_dir: Path = ICON_DIR) -> list[Path]:
    """Rasterise the SVG at every size with Qt's own SVG renderer (in PySide6-Essentials)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg} is not an SVG Qt can render")
    icon_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        target = png_path(size, icon_dir)
        if not image.save(str(target), "PNG"):
            raise SystemExit(f"could not write {target}")
        written.append(target)
    return written


def read_pngs(sizes: tuple[int, ...], icon_dir: Path = ICON_DIR) -> dict[int, bytes]:
    """Load the committed PNGs that a container format needs."""
    return {size: png_path(size, icon_dir).read_bytes() for size in sizes}


def pack_ico(pngs: Mapping[int, bytes]) -> bytes:
    """Build a multi-size .ico of PNG entries (valid since Windows Vista), so 16 px stays sharp."""
    header = struct.pack("<HHH", 0, 1, len(pngs))
    offset = len(header) + 16 * len(pngs)
    entries, images = [], []
    for size, data in sorted(pngs.items()):
        side = 0 if size >= 256 else size  # 0 means 256 in an ICONDIRENTRY
        entries.append(struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(data), offset))
        images.append(data)
        offset += len(data)
    return header + b"".join(entries) + b"".join(images)


def pack_icns(pngs: Mapping[int, bytes]) -> bytes:
    """Build an .icns of PNG elements for the macOS bundle."""
    body = b"".join(
        ICNS_TYPES[size] + struct.pack(">I", 8 + len(data)) + data
        for size, data in sorted(pngs.items())
    )
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main() -> int:
    for path in render_pngs():
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
