"""The icon's minutes, drawn from its own digits: every count readable, none borrowed from a font.

Checked on real pixels (every number from 1 to 99 at the tray's two common sizes) and, for
the font database, in a fresh process that reads which font files it has mapped.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QFont, QGuiApplication, QImage

from tray_app.core.state import Snapshot, State
from tray_app.ui.icons import OUTLINE_DARK, render_pixmap

NOW = 1_800_000_000.0
NUMBERS = range(1, 100)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _gui(qapp: object) -> None:
    """QPixmap needs a QGuiApplication; pytest-qt's ``qapp`` provides one."""


def retrying(minutes: int | None) -> Snapshot:
    """Retrying keeps one colour and one shape at every count, so only the digits differ."""
    expires_at = None if minutes is None else NOW + minutes * 60 - 5
    return Snapshot(state=State.RETRYING, expires_at=expires_at)


def active(minutes: int) -> Snapshot:
    return Snapshot(state=State.ACTIVE, expires_at=NOW + minutes * 60 - 5)


def argb(snapshot: Snapshot, size: int) -> list[int]:
    image = render_pixmap(snapshot, NOW, size).toImage()
    image = image.convertToFormat(QImage.Format.Format_ARGB32)
    return [image.pixel(x, y) for y in range(size) for x in range(size)]


def channels(pixel: int) -> tuple[int, int, int, int]:
    """(alpha, red, green, blue) of an ARGB32 pixel."""
    return (pixel >> 24) & 255, (pixel >> 16) & 255, (pixel >> 8) & 255, pixel & 255


def distance(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    """The largest difference of red, green or blue."""
    return max(abs(x - y) for x, y in zip(a[1:], b[1:], strict=True))


def grey(pixel: int) -> int:
    """What a colour-blind eye sees of a pixel, premultiplied by its opacity (0..255)."""
    alpha, red, green, blue = channels(pixel)
    return round((0.2126 * red + 0.7152 * green + 0.0722 * blue) * alpha / 255)


SHAPES = {
    "retrying square": (retrying(None), retrying, NUMBERS),
    "active disc": (Snapshot(state=State.ACTIVE, expires_at=None), active, range(4, 100)),
}
"""The blank shape, the same shape with a count, and the counts it shows in that colour."""


@pytest.mark.parametrize("size", [16, 22])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_number_is_drawn_inside_the_fill(size: int, shape: str) -> None:
    """Each count changes pixels, and only pixels of the blank shape's fill (opaque, nearer
    the fill colour than the outline's, so the outline's soft inner edge counts as fill): no
    digit spills onto the outline, the halo or the panel, even "88" in a 16 px disc."""
    blank_snapshot, with_minutes, numbers = SHAPES[shape]
    blank = [channels(pixel) for pixel in argb(blank_snapshot, size)]
    fill = max(set(blank), key=blank.count)
    outline = channels(QColor(OUTLINE_DARK).rgba())
    inside = {
        i
        for i, pixel in enumerate(blank)
        if pixel[0] == 255 and distance(pixel, fill) < distance(pixel, outline)
    }
    for number in numbers:
        drawn = [channels(pixel) for pixel in argb(with_minutes(number), size)]
        changed = {i for i, (a, b) in enumerate(zip(blank, drawn, strict=True)) if a != b}
        assert len(changed) >= size, (number, len(changed))
        assert changed <= inside, (number, sorted(changed - inside))


@pytest.mark.parametrize(("size", "least"), [(16, 1.5), (22, 4.0)])
def test_every_two_numbers_look_different(size: int, least: float) -> None:
    """No two counts from 1 to 99 share a picture: any two differ in grey by at least ``least``
    whole pixels' worth (the font's digits managed 2.7 and 7.0 here, these 2.4 and 5.9), which
    fails if two digits were drawn alike or one were missing."""
    greys = {n: [grey(p) for p in argb(retrying(n), size)] for n in NUMBERS}
    closest = min(
        (sum(abs(x - y) for x, y in zip(greys[a], greys[b], strict=True)) / 255, a, b)
        for a, b in itertools.combinations(NUMBERS, 2)
    )
    assert closest[0] >= least, closest


def test_the_application_font_plays_no_part() -> None:
    """A system's or user's font (family, size, weight) leaves the icon's digits as they were."""
    cases = [
        (snapshot, size)
        for snapshot in (active(7), active(48), retrying(99), active(1))
        for size in (16, 22, 64)
    ]
    before = [argb(snapshot, size) for snapshot, size in cases]
    original = QGuiApplication.font()
    try:
        QGuiApplication.setFont(QFont("DejaVu Serif", 31, QFont.Weight.Thin, italic=True))
        after = [argb(snapshot, size) for snapshot, size in cases]
    finally:
        QGuiApplication.setFont(original)
    assert after == before


PROBE = textwrap.dedent(
    """
    import json, re, sys
    from PySide6.QtCore import QSize
    from PySide6.QtGui import QPainterPath
    from PySide6.QtWidgets import QApplication
    from tray_app.core.state import Snapshot, State
    from tray_app.ui.icons import ICON_SIZES, StatusIconCache

    FONT_FILE = re.compile(r"\\.(ttf|otf|ttc|pfa|pfb|pcf(\\.gz)?|woff2?)$|\\.cache-\\d+$", re.I)

    def mapped_font_files():
        with open("/proc/self/maps") as maps:
            fields = [line.split(maxsplit=5) for line in maps]
        paths = {parts[5].strip() for parts in fields if len(parts) == 6}
        return sorted(path for path in paths if FONT_FILE.search(path))

    app = QApplication([])
    now = 1_800_000_000.0
    icon = StatusIconCache().icon(Snapshot(State.ACTIVE, expires_at=now + 42 * 60), now)
    drawn = [icon.pixmap(QSize(size, size), dpr).isNull() for size in ICON_SIZES for dpr in (1, 2)]
    print(json.dumps({"drawn": drawn.count(False), "after_icon": mapped_font_files()}))
    text = QPainterPath()
    text.addText(0, 0, app.font(), "42")
    print(json.dumps({"after_text": mapped_font_files()}))
    """
)


def test_drawing_the_tray_icon_loads_no_font() -> None:
    """In a fresh process, the active session's icon at every size leaves fontconfig's caches
    and every font file unmapped; the same process drawing two digits of text then maps them,
    which shows that what is read would have seen a font had the icon loaded one."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    first, second = (json.loads(line) for line in result.stdout.splitlines()[-2:])
    assert first["drawn"] > 0
    assert first["after_icon"] == []
    assert second["after_text"] != []
