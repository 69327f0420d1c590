"""The tray's status icon, drawn with QPainter so it stays sharp at every size and scale.

Each state has its own colour *and* its own silhouette, so the icon reads without colour
too. Panel colours cannot be detected reliably, so by default every shape gets a dark
outline inside a light halo: one of the two contrasts with any panel.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QIcon,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPen,
    QPixmap,
    QPolygonF,
    QTransform,
)

from tray_app.core.state import Snapshot, State, minutes_shown
from tray_app.ui import digits
from tray_app.ui.icon_engine import DrawnEngine

AMBER_BELOW_SECONDS = 180
"""An active session with less time left than this turns amber: time to notice."""

ICON_SIZES = (16, 22, 24, 32, 48, 64)
PANELS = ("auto", "light", "dark")

GREEN = "#2b8a3e"
AMBER = "#f59f00"
RED = "#e03131"
GREY = "#868e96"
BLUE_GREY = "#5c7a99"
"""Signing in: neutral like signed out, but tinted so "working on it" is not "off"."""

OUTLINE_DARK = "#212529"
HALO_LIGHT = "#f8f9fa"
INK_DARK = OUTLINE_DARK
INK_LIGHT = "#ffffff"

_COUNTDOWN_STATES = frozenset({State.ACTIVE, State.RETRYING})
_EXPIRING = "active_expiring"
_LOOK_COLOURS = {
    "active": GREEN,
    _EXPIRING: AMBER,
    "retrying": AMBER,
    "expired": RED,
    "failed": RED,
    "signed_out": GREY,
    "paused": GREY,
    "signing_in": BLUE_GREY,
}

IconKey = tuple[str, int | None, str]
"""(look, minutes shown, panel); the look is the state's name, or "active_expiring" when amber."""

Shape = Callable[[QRectF, float], QPainterPath]
"""Draws a state's silhouette in a box; the float is the outline width, which parts of the
shape (bars, the ring's hole) must stay wider than or the outline would fill them in."""


def _seconds_left(snapshot: Snapshot, now: float) -> float | None:
    """Only a live or retrying session counts down; any other state's deadline is stale."""
    if snapshot.state not in _COUNTDOWN_STATES or snapshot.expires_at is None:
        return None
    return snapshot.expires_at - now


def minutes_left(snapshot: Snapshot, now: float) -> int | None:
    """Whole minutes to expiry, rounded up so "1" means under a minute; None if nothing counts."""
    seconds = _seconds_left(snapshot, now)
    if seconds is None:
        return None
    return min(99, minutes_shown(seconds))


def _look(snapshot: Snapshot, now: float) -> str:
    """The state, split in two for an active session close enough to expiry to turn amber."""
    seconds = _seconds_left(snapshot, now)
    if snapshot.state is State.ACTIVE and seconds is not None and seconds < AMBER_BELOW_SECONDS:
        return _EXPIRING
    return snapshot.state.name.lower()


def icon_key(snapshot: Snapshot, now: float, panel: str = "auto") -> IconKey:
    """Everything the picture depends on, so equal keys are equal pictures and need no redraw."""
    if panel not in PANELS:
        raise ValueError(f"panel must be one of {PANELS}, not {panel!r}")
    return (_look(snapshot, now), minutes_left(snapshot, now), panel)


def state_colour(snapshot: Snapshot, now: float) -> QColor:
    """The fill colour, also handy for a matching status dot in the menu."""
    return QColor(_LOOK_COLOURS[_look(snapshot, now)])


def _polar(centre: QPointF, radius: float, degrees: float) -> QPointF:
    """A point at ``degrees`` counter-clockwise from 3 o'clock (screen y grows downwards)."""
    angle = math.radians(degrees)
    return QPointF(centre.x() + radius * math.cos(angle), centre.y() - radius * math.sin(angle))


def _disc(box: QRectF, margin: float) -> QPainterPath:
    """Active: a filled disc, the roomiest shape for the minutes."""
    path = QPainterPath()
    path.addEllipse(box)
    return path


def _rounded_square(box: QRectF, margin: float) -> QPainterPath:
    """Retrying: the disc squared off, so it differs from "active" even at 16 px."""
    path = QPainterPath()
    corner = box.width() * 0.24
    path.addRoundedRect(box, corner, corner)
    return path


def _arc(box: QRectF, margin: float) -> QPainterPath:
    """Signing in: a three-quarter ring, the familiar spinner, open where signed out is closed."""
    band = box.width() * 0.22
    inner = box.adjusted(band / 2, band / 2, -band / 2, -band / 2)
    arc = QPainterPath()
    arc.arcMoveTo(inner, 90)
    arc.arcTo(inner, 90, 270)
    stroker = QPainterPathStroker()
    stroker.setWidth(band)
    stroker.setCapStyle(Qt.PenCapStyle.RoundCap)
    return stroker.createStroke(arc).simplified()


def _octagon(box: QRectF, margin: float) -> QPainterPath:
    """Expired: a stop sign, flat sides that a disc does not have."""
    centre = box.center()
    radius = box.width() / 2 / math.cos(math.radians(22.5))
    path = QPainterPath()
    path.addPolygon(QPolygonF([_polar(centre, radius, 22.5 + 45 * i) for i in range(8)]))
    path.closeSubpath()
    return path


def _cross(box: QRectF, margin: float) -> QPainterPath:
    """Failed: a bold saltire cross, the shape itself (not a glyph on a disc) so it reads alone."""
    width = box.width() * 0.3
    reach = box.width() / 2 - width / (2 * math.sqrt(2))
    centre = box.center()
    strokes = QPainterPath()
    for dx in (-reach, reach):
        strokes.moveTo(centre.x() - dx, centre.y() - reach)
        strokes.lineTo(centre.x() + dx, centre.y() + reach)
    stroker = QPainterPathStroker()
    stroker.setWidth(width)
    stroker.setCapStyle(Qt.PenCapStyle.FlatCap)
    return stroker.createStroke(strokes).simplified()


def _pause_bars(box: QRectF, margin: float) -> QPainterPath:
    """Paused: two bars, kept far enough apart that their outlines never merge at 16 px."""
    gap = max(box.width() * 0.3, box.width() * 0.12 + 2 * margin)
    bar_width = (box.width() * 0.9 - gap) / 2
    left = box.center().x() - gap / 2 - bar_width
    path = QPainterPath()
    for x in (left, left + bar_width + gap):
        bar = QRectF(x, box.top(), bar_width, box.height())
        path.addRoundedRect(bar, bar_width * 0.2, bar_width * 0.2)
    return path


def _ring(box: QRectF, margin: float) -> QPainterPath:
    """Signed out: a hollow ring, its hole wide enough to stay open inside the outline."""
    path = _disc(box, margin)
    hole = max(box.width() * 0.27, margin + 2.0)
    path.addEllipse(box.center(), hole, hole)
    path.setFillRule(Qt.FillRule.OddEvenFill)
    return path


_SHAPES: dict[str, Shape] = {
    "active": _disc,
    _EXPIRING: _disc,
    "retrying": _rounded_square,
    "expired": _octagon,
    "failed": _cross,
    "signed_out": _ring,
    "paused": _pause_bars,
    "signing_in": _arc,
}


def _luminance(colour: QColor) -> float:
    """WCAG relative luminance, which judges contrast the way eyes do (hue lightness does not)."""
    channels = (colour.redF(), colour.greenF(), colour.blueF())
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _ink_for(fill: QColor) -> QColor:
    """Whichever of dark or white ink contrasts more with the fill: dark on amber, else white."""
    background = _luminance(fill) + 0.05
    dark = background / (_luminance(QColor(INK_DARK)) + 0.05)
    light = (_luminance(QColor(INK_LIGHT)) + 0.05) / background
    return QColor(INK_DARK if dark > light else INK_LIGHT)


def _number(text: str, box: QRectF, small: bool) -> QPainterPath:
    """The digits as a path: every count the same height, squeezed only when too wide, and
    relatively larger at tray sizes (``small``), where every pixel of legibility counts.

    Built from :mod:`tray_app.ui.digits`, not from a font: the icon looks the same on every
    system, and the idle app never loads the font database for it."""
    cells = QRectF(0, 0, digits.width(text), digits.HEIGHT)
    scale_y = box.height() * (0.56 if small else 0.5) / digits.HEIGHT
    scale_x = min(scale_y, box.width() * (0.82 if small else 0.74) / cells.width())
    transform = QTransform()
    transform.translate(box.center().x(), box.center().y())
    transform.scale(scale_x, scale_y)
    transform.translate(-cells.center().x(), -cells.center().y())
    return transform.map(digits.number(text))


def _glyph(look: str, minutes: int | None, box: QRectF, small: bool) -> QPainterPath | None:
    """What sits on the shape: the minutes, or the bar that makes the octagon a stop sign."""
    if minutes is not None:
        return _number(str(minutes), box, small)
    if look == "expired":
        path = QPainterPath()
        bar = QRectF(0, 0, box.width() * 0.6, box.height() * 0.2)
        bar.moveCenter(box.center())
        path.addRect(bar)
        return path
    return None


def _line_widths(size: float, panel: str) -> tuple[float, float]:
    """(dark outline, light halo) widths in logical pixels; at least a pixel each to show."""
    outline = max(1.0, size * 0.045)
    halo = max(1.0, size * 0.04)
    if panel == "light":
        return outline, 0.0
    if panel == "dark":
        return 0.0, halo
    return outline, halo


def _round_pen(colour: str, width: float) -> QPen:
    """Round joins, so the outline hugs corners instead of growing spikes at small sizes."""
    pen = QPen(QColor(colour), width)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def _draw(painter: QPainter, key: IconKey, size: float) -> None:
    """Halo, then outline, then fill: each layer covers the inner half of the one before."""
    look, minutes, panel = key
    outline, halo = _line_widths(size, panel)
    box = QRectF(0, 0, size, size).adjusted(*(d * (outline + halo) for d in (1, 1, -1, -1)))
    shape = _SHAPES[look](box, outline + halo)
    fill = QColor(_LOOK_COLOURS[look])
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    if halo:
        painter.strokePath(shape, _round_pen(HALO_LIGHT, 2 * (outline + halo)))
    if outline:
        painter.strokePath(shape, _round_pen(OUTLINE_DARK, 2 * outline))
    painter.fillPath(shape, fill)
    glyph = _glyph(look, minutes, box, size <= 24)
    if glyph is not None:
        painter.fillPath(glyph, _ink_for(fill))


def render_pixmap(
    snapshot: Snapshot, now: float, size: int = 64, dpr: float = 1.0, panel: str = "auto"
) -> QPixmap:
    """The icon at ``size`` logical pixels, drawn at ``size * dpr`` device pixels to stay sharp."""
    return _pixmap_of(icon_key(snapshot, now, panel), size, dpr)


def _pixmap_of(key: IconKey, size: int, dpr: float) -> QPixmap:
    pixmap = QPixmap(round(size * dpr), round(size * dpr))
    pixmap.setDevicePixelRatio(dpr)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    try:
        _draw(painter, key, size)
    finally:
        painter.end()
    return pixmap


def render_icon(
    snapshot: Snapshot, now: float, panel: str = "auto", dprs: Iterable[float] = (1.0,)
) -> QIcon:
    """Every tray size at every scale, so no panel ever scales a pixmap and blurs it.

    The icon's engine keeps the pixmaps itself (:mod:`tray_app.ui.icon_engine`), out of Qt's
    global pixmap cache, whose ageing timer would otherwise wake the app after each redraw,
    and draws each one the first time a panel asks for it (from the key of this moment, so a
    late drawing shows what the icon was made for).
    """
    key = icon_key(snapshot, now, panel)
    engine = DrawnEngine(
        lambda size, dpr: _pixmap_of(key, size, dpr), ICON_SIZES, sorted({1.0, *dprs})
    )
    return QIcon(engine)


def _screen_dprs() -> tuple[float, ...]:
    """Every scale a screen uses now, so the tray finds a native pixmap on any monitor."""
    return tuple(sorted({screen.devicePixelRatio() for screen in QGuiApplication.screens()}))


class StatusIconCache:
    """Hands out the same QIcon until the picture would change: a redraw a minute, not a second.

    ``renders`` counts the icons actually drawn, so tests can see that ticks cost nothing.
    """

    def __init__(self) -> None:
        self._key: tuple[IconKey, tuple[float, ...]] | None = None
        self._icon = QIcon()
        self.renders = 0

    def icon(self, snapshot: Snapshot, now: float, panel: str = "auto") -> QIcon:
        """The icon for this moment; redrawn only when its key or the screens' scales change."""
        key = (icon_key(snapshot, now, panel), _screen_dprs())
        if key != self._key:
            self._icon = render_icon(snapshot, now, panel, key[1])
            self._key = key
            self.renders += 1
        return self._icon


def window_icon() -> QIcon:
    """The shipped PNGs, read when a window first shows: the SVG would load Qt's SVG library
    (0.7 MiB resident) for the whole run of an app that mostly shows no window. Through our
    own engine, which keeps them out of Qt's pixmap cache (see ``FilesEngine``)."""
    from tray_app.resources import ICON_SIZES, app_icon_path
    from tray_app.ui.icon_engine import FilesEngine

    return QIcon(FilesEngine([str(app_icon_path(size)) for size in ICON_SIZES]))
