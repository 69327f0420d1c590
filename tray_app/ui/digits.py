"""The icon's own digits 0-9: strokes on a fixed grid, filled once and kept, no font involved.

The tray icon's minutes used to be text in the application font. That made the icon depend
on which fonts a system has (one without fonts drew an empty disc, or nothing), and its
first drawing loaded Qt's font database and a FreeType face: 3 MiB resident, and 2.5 ms
more before the icon showed, in an app that needs no font until a menu or a window opens.
These digits are a handful of lines and curves, stroked into outlines with
``QPainterPathStroker`` (round caps and joins) in a bold weight drawn for 16-24 px.

Every digit has the same height (``HEIGHT``) and the same advance (``ADVANCE``), so "1".."99"
line up and every count of the same length gets the same scale.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainterPath, QPainterPathStroker, QTransform

STROKE = 2.6
"""Pen width in grid units: bold, so the strokes of a 16 px icon's digits are 1.4 px wide."""

_W = 5.8
_H = 10.0
"""The centre lines' box; the pen adds ``STROKE / 2`` on every side."""

HEIGHT = _H + STROKE
"""Every digit's outer height, caps and curves included."""

WIDTH = _W + STROKE
GAP = 1.2
"""Clear space between two digits' cells, enough that "88" stays two eights at 16 px."""

ADVANCE = WIDTH + GAP

_FINE = 4.0
"""Stroked and merged this much larger: ``simplified()`` turns curves into straight pieces
sized for pixels, which at grid scale (a digit is 12.6 units tall) showed as corners. Four
times is smooth at the largest drawing (64 px at scale 2) and keeps a digit near a hundred
points; 64 times took twenty times the memory for no visible gain."""

_paths: dict[str, QPainterPath] = {}


def _oval(rect: QRectF) -> QPainterPath:
    path = QPainterPath()
    path.addEllipse(rect)
    return path


def _centre_lines(character: str) -> QPainterPath:
    """The pen's path for one digit, y growing downwards, x in [0, _W] and y in [0, _H]."""
    w, h = _W, _H
    path = QPainterPath()
    if character == "0":
        path.addRoundedRect(QRectF(0, 0, w, h), w / 2, w / 2 * 1.15)
    elif character == "1":
        stem = w * 0.58
        path.moveTo(stem - 2.6, 2.0)
        path.lineTo(stem, 0)
        path.lineTo(stem, h)
        path.moveTo(w * 0.12, h)
        path.lineTo(w * 0.98, h)
    elif character == "2":
        bowl = QRectF(0, 0, w, h * 0.56)
        path.arcMoveTo(bowl, 158)
        path.arcTo(bowl, 158, -188)
        path.lineTo(0, h)
        path.lineTo(w, h)
    elif character == "3":
        top = QRectF(w * 0.08, 0, w * 0.88, h * 0.48)
        bottom = QRectF(0, h * 0.46, w, h * 0.54)
        path.arcMoveTo(top, 140)  # ends short of the left side, where an 8 has its loops
        path.arcTo(top, 140, -230)
        path.arcTo(bottom, 90, -225)
    elif character == "4":
        bar = h * 0.7
        stem = w * 0.78
        path.moveTo(stem, h)
        path.lineTo(stem, 0)
        path.lineTo(0, bar)
        path.lineTo(w, bar)
    elif character == "5":
        bowl = QRectF(0, h * 0.36, w, h * 0.64)
        path.moveTo(w * 0.95, 0)
        path.lineTo(w * 0.12, 0)
        start = QPainterPath()
        start.arcMoveTo(bowl, 140)
        path.lineTo(start.currentPosition().x(), start.currentPosition().y())
        path.arcTo(bowl, 140, -290)
    elif character in "69":
        bowl = QRectF(0, h * 0.4, w, h * 0.6)
        path.addEllipse(bowl)
        path.moveTo(w * 0.8, 0)  # a diagonal spine leaves the top right open, unlike 8
        path.cubicTo(QPointF(w * 0.3, h * 0.1), QPointF(0, h * 0.38), QPointF(0, h * 0.7))
        if character == "9":
            path = QTransform(-1, 0, 0, -1, w, h).map(path)
    elif character == "7":
        path.moveTo(0, 0)
        path.lineTo(w, 0)
        path.cubicTo(QPointF(w * 0.6, h * 0.35), QPointF(w * 0.38, h * 0.6), QPointF(w * 0.3, h))
    elif character == "8":
        path.addPath(_oval(QRectF(w * 0.08, 0, w * 0.84, h * 0.46)))
        path.addPath(_oval(QRectF(0, h * 0.46, w, h * 0.54)))
    else:
        raise ValueError(f"not a digit: {character!r}")
    return path


def digit(character: str) -> QPainterPath:
    """One digit's filled outline in grid units, its cell at (0, 0) to (WIDTH, HEIGHT).

    Made on first use and kept: the stroker's work is done once per digit per run."""
    path = _paths.get(character)
    if path is None:
        stroker = QPainterPathStroker()
        stroker.setCapStyle(Qt.PenCapStyle.RoundCap)
        stroker.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        stroker.setWidth(STROKE * _FINE)
        fine = QTransform.fromScale(_FINE, _FINE).map(_centre_lines(character))
        outline = stroker.createStroke(fine).simplified()  # one outline, no overlaps
        path = QTransform(1 / _FINE, 0, 0, 1 / _FINE, STROKE / 2, STROKE / 2).map(outline)
        _paths[character] = path
    return path


def number(text: str) -> QPainterPath:
    """A row of digits at the fixed advance, in grid units; its cells span ``width(text)``."""
    path = QPainterPath()
    for index, character in enumerate(text):
        path.addPath(digit(character).translated(index * ADVANCE, 0))
    return path


def width(text: str) -> float:
    """The row's width in grid units, cell edge to cell edge: the same for any two digits."""
    return len(text) * ADVANCE - GAP
