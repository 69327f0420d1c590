"""A QIcon engine that hands out pixmaps drawn beforehand, without Qt's global pixmap cache.

Qt's own engine for pixmap icons puts every pixmap it hands out into ``QPixmapCache``, and
that cache starts a 30-second timer on each insertion to age its entries. The tray icon
changes once a minute, so the cache alone would wake the idle app once more every minute.
This engine keeps the few pixmaps of one icon itself (every tray size at every screen scale,
see :func:`tray_app.ui.icons.render_icon`), picks the closest one and scales only when no
size fits, which a panel asking for a size we did not draw is the one case of.
:class:`DrawnEngine` draws each of those pixmaps only when a panel first asks for it: a panel
shows one or two sizes, so the icon shown at start (and each minute's redraw) costs one
drawing, not twelve (about 4 ms less before the first icon).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QIcon, QIconEngine, QImage, QPainter, QPixmap

_CLONES: list[QIconEngine] = []


class PixmapsEngine(QIconEngine):
    """The pixmaps of one icon, at several sizes and device pixel ratios, and nothing else."""

    def __init__(self, pixmaps: Sequence[QPixmap]) -> None:
        super().__init__()
        self._pixmaps = _ordered(pixmaps)

    def best(self, device_pixels: int, scale: float = 1.0) -> QPixmap:
        """The smallest pixmap at least ``device_pixels`` wide, drawn for ``scale`` if one is.

        A pixmap drawn for its own logical size at that scale beats one of the same width drawn
        for another (a 16 px icon at scale 2 is not a 32 px icon: small sizes are drawn bolder).
        Without one big enough, the largest there is.
        """
        if not self._pixmaps:
            return QPixmap()
        wide_enough = [p for p in self._pixmaps if p.width() >= device_pixels]
        for pixmap in wide_enough:
            if pixmap.devicePixelRatio() == scale:
                return pixmap
        return wide_enough[0] if wide_enough else self._pixmaps[-1]

    def scaledPixmap(
        self, size: QSize, mode: QIcon.Mode, state: QIcon.State, scale: float
    ) -> QPixmap:
        device = round(max(size.width(), size.height()) * scale)
        pixmap = self.best(device, scale)
        if pixmap.isNull():
            return pixmap
        if pixmap.width() != device:
            pixmap = pixmap.scaled(
                device,
                device,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        if pixmap.devicePixelRatio() != scale:
            pixmap = QPixmap(pixmap)
            pixmap.setDevicePixelRatio(scale)
        return pixmap

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return self.scaledPixmap(size, mode, state, 1.0)

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        # The device's scale, read off the painter's device transform (the world's is the
        # identity when a panel paints an icon). Not painter.device(): PySide6 would build
        # the Python type of the device first, here the tray's QWidget, 20 ms before the icon
        # could show (the floor never touches QtWidgets' widget types).
        scale = abs(painter.deviceTransform().m11()) or 1.0
        side = min(rect.width(), rect.height())
        pixmap = self.scaledPixmap(QSize(side, side), mode, state, scale)
        target = QRect(0, 0, side, side)
        target.moveCenter(rect.center())
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawPixmap(target, pixmap)
        painter.restore()

    def actualSize(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QSize:
        side = min(size.width(), size.height())
        return QSize(side, side)

    def availableSizes(
        self, mode: QIcon.Mode = QIcon.Mode.Normal, state: QIcon.State = QIcon.State.Off
    ) -> list[QSize]:
        sides = sorted({pixmap.width() for pixmap in self._pixmaps})
        return [QSize(side, side) for side in sides]

    def isNull(self) -> bool:
        return not self._pixmaps

    def key(self) -> str:
        return "clickatell-status"

    def clone(self) -> QIconEngine:
        """A copy for a QIcon that detaches (the app never makes one do so; Qt may).

        PySide does not hand the returned engine to C++, so Python would delete it under the
        QIcon: the copy is kept here for good (a few pixmaps a detach, which is rare).
        """
        twin = PixmapsEngine(self._pixmaps)
        _CLONES.append(twin)
        return twin

    def __len__(self) -> int:
        return len(self._pixmaps)


class FilesEngine(PixmapsEngine):
    """The same for image files, read when a pixmap is first asked for (a window shows).

    For the app's window icon: Qt's engine for files loads them with ``QPixmap::load``, which
    puts each file it reads into the pixmap cache (for ``_NET_WM_ICON`` of every window, the
    tray's XEmbed window included), and the cache's ageing timer then woke the idle app four
    times in its first minute and a half.
    """

    def __init__(self, paths: Sequence[str]) -> None:
        QIconEngine.__init__(self)
        self._paths = tuple(paths)
        self._loaded: list[QPixmap] | None = None

    @property
    def _pixmaps(self) -> list[QPixmap]:  # type: ignore[override]
        if self._loaded is None:
            # Through QImage: QPixmap's own loading puts every file it reads into the cache.
            self._loaded = _ordered([QPixmap.fromImage(QImage(path)) for path in self._paths])
        return self._loaded

    def isNull(self) -> bool:
        return not self._paths


class DrawnEngine(PixmapsEngine):
    """The pixmaps of one icon at every size in ``sizes`` and scale in ``scales``, each drawn
    by ``draw(size, scale)`` the first time it is the best one for a request (chosen as
    :meth:`PixmapsEngine.best` chooses) and kept from then on."""

    def __init__(
        self,
        draw: Callable[[int, float], QPixmap],
        sizes: Sequence[int],
        scales: Sequence[float],
        drawn: dict[tuple[int, float], QPixmap] | None = None,
    ) -> None:
        QIconEngine.__init__(self)
        self._draw = draw
        self._plan = sorted(
            {(size, scale) for size in sizes for scale in scales},
            key=lambda entry: (round(entry[0] * entry[1]), entry[1]),
        )
        self._sizes, self._scales = tuple(sizes), tuple(scales)
        self._drawn = drawn if drawn is not None else {}

    def best(self, device_pixels: int, scale: float = 1.0) -> QPixmap:
        if not self._plan:
            return QPixmap()
        wide_enough = [e for e in self._plan if round(e[0] * e[1]) >= device_pixels]
        chosen = next((e for e in wide_enough if e[1] == scale), None)
        if chosen is None:
            chosen = wide_enough[0] if wide_enough else self._plan[-1]
        if chosen not in self._drawn:
            self._drawn[chosen] = self._draw(*chosen)
        return self._drawn[chosen]

    def availableSizes(
        self, mode: QIcon.Mode = QIcon.Mode.Normal, state: QIcon.State = QIcon.State.Off
    ) -> list[QSize]:
        sides = sorted({round(size * scale) for size, scale in self._plan})
        return [QSize(side, side) for side in sides]

    def isNull(self) -> bool:
        return not self._plan

    def clone(self) -> QIconEngine:
        """As :meth:`PixmapsEngine.clone`; the twin shares what is drawn and draws the rest."""
        twin = DrawnEngine(self._draw, self._sizes, self._scales, self._drawn)
        _CLONES.append(twin)
        return twin

    def __len__(self) -> int:
        return len(self._drawn)


def _ordered(pixmaps: Sequence[QPixmap]) -> list[QPixmap]:
    """Smallest first, so that the first one big enough is the best one."""
    return sorted(
        (pixmap for pixmap in pixmaps if not pixmap.isNull()),
        key=lambda pixmap: (pixmap.width(), pixmap.devicePixelRatio()),
    )
