"""The window icon: the shipped PNGs, read only once a window needs them, served at their sizes.

They go through the app's own icon engine rather than ``QIcon.addFile``: Qt's file engine loads
with ``QPixmap::load``, which puts each file into the pixmap cache, and that cache's ageing
timer woke the idle app four times after start-up (the benchmark's wake-ups count it).
"""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon
from tray_app.resources import ICON_SIZES, app_icon_path

from tray_app.ui.icon_engine import FilesEngine
from tray_app.ui.icons import window_icon


def test_the_files_are_read_when_a_pixmap_is_first_asked_for(qapp: object) -> None:
    engine = FilesEngine([str(app_icon_path(size)) for size in ICON_SIZES])
    assert not engine.isNull()
    assert engine._loaded is None, "read before any window asked"

    pixmap = engine.pixmap(QSize(32, 32), QIcon.Mode.Normal, QIcon.State.Off)

    assert pixmap.size() == QSize(32, 32) and not pixmap.isNull()
    assert engine._loaded is not None and len(engine._loaded) == len(ICON_SIZES)


def test_the_window_icon_offers_every_shipped_size(qapp: object) -> None:
    icon = window_icon()

    assert {size.width() for size in icon.availableSizes()} >= set(ICON_SIZES)
    for side in ICON_SIZES:
        pixmap = icon.pixmap(side)
        assert (pixmap.width(), pixmap.height()) == (side, side)
        assert pixmap.toImage().pixelColor(side // 2, side // 2).alpha() != 0


def test_no_files_no_icon(qapp: object) -> None:
    assert FilesEngine([]).isNull()
