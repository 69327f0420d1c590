"""The status icon, checked on its real pixels: colour, countdown, shape, outline and scale."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap

from tray_app.core.state import Snapshot, State
from tray_app.ui.icon_engine import DrawnEngine
from tray_app.ui.icons import (
    AMBER,
    AMBER_BELOW_SECONDS,
    BLUE_GREY,
    GREEN,
    GREY,
    HALO_LIGHT,
    ICON_SIZES,
    INK_LIGHT,
    OUTLINE_DARK,
    RED,
    StatusIconCache,
    icon_key,
    minutes_left,
    render_icon,
    render_pixmap,
    state_colour,
)

NOW = 1_800_000_000.0
FOURTEEN_MINUTES = 14 * 60 - 5

Pixel = tuple[int, int, int, int]


@pytest.fixture(autouse=True)
def _gui(qapp: object) -> None:
    """QPixmap and fonts need a QGuiApplication; pytest-qt's ``qapp`` provides one."""


def snap(state: State, seconds_left: float | None = None) -> Snapshot:
    expires_at = None if seconds_left is None else NOW + seconds_left
    return Snapshot(state=state, expires_at=expires_at)


def every_state() -> dict[State, Snapshot]:
    """Each state as the tray sees it; the two that count down show the same number."""
    countdown = {State.ACTIVE, State.RETRYING}
    return {s: snap(s, FOURTEEN_MINUTES if s in countdown else None) for s in State}


def pixels(image: QImage | QPixmap) -> list[Pixel]:
    if isinstance(image, QPixmap):
        image = image.toImage()
    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)  # kept alive while read
    data = bytes(rgba.constBits())
    return list(zip(data[0::4], data[1::4], data[2::4], data[3::4], strict=True))


def rgb(hex_colour: str) -> tuple[int, int, int]:
    colour = QColor(hex_colour)
    return colour.red(), colour.green(), colour.blue()


def distance(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    return max(abs(x - y) for x, y in zip(a[:3], b[:3], strict=True))


def luminance(pixel: Pixel) -> float:
    return (0.2126 * pixel[0] + 0.7152 * pixel[1] + 0.0722 * pixel[2]) / 255


def dominant_colour(pixmap: QPixmap) -> tuple[int, int, int]:
    """The most frequent opaque colour that is not the outline, the halo or the white ink."""
    chrome = [rgb(c) for c in (OUTLINE_DARK, HALO_LIGHT, INK_LIGHT)]
    counts = Counter(
        p[:3] for p in pixels(pixmap) if p[3] == 255 and all(distance(p, c) > 24 for c in chrome)
    )
    return counts.most_common(1)[0][0]


def over(pixmap: QPixmap, background: str) -> QImage:
    """The icon as a panel of that colour would show it."""
    image = QImage(pixmap.size(), QImage.Format.Format_RGBA8888)
    image.fill(QColor(background))
    painter = QPainter(image)
    painter.drawPixmap(0, 0, pixmap)
    painter.end()
    return image


def edge_stands_out(pixmap: QPixmap, fill: str, background: str) -> bool:
    """Every row and column, read from either end, meets a pixel far from the panel's
    brightness before it reaches the coloured fill: the shape has a visible edge all round."""
    size = pixmap.width()
    shown = pixels(over(pixmap, background))
    panel = luminance((*rgb(background), 255))
    lines = [[shown[y * size + x] for x in range(size)] for y in range(size)]
    lines += [[shown[y * size + x] for y in range(size)] for x in range(size)]
    crossings = 0
    for line in lines:
        for scan in (line, line[::-1]):
            first_fill = next((i for i, p in enumerate(scan) if distance(p, rgb(fill)) <= 6), None)
            if first_fill is None:
                continue
            crossings += 1
            if all(abs(luminance(p) - panel) < 0.5 for p in scan[:first_fill]):
                return False
    return crossings > 0


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(61, 2), (60, 1), (0.5, 1), (0, 0), (-30, 0), (14 * 60, 14), (500 * 60, 99)],
)
def test_minutes_left_rounds_up_and_clamps(seconds: float, expected: int) -> None:
    assert minutes_left(snap(State.ACTIVE, seconds), NOW) == expected
    assert minutes_left(snap(State.RETRYING, seconds), NOW) == expected


def test_minutes_left_is_none_without_a_running_deadline() -> None:
    assert minutes_left(snap(State.ACTIVE), NOW) is None
    assert minutes_left(snap(State.PAUSED, 600), NOW) is None
    assert minutes_left(snap(State.EXPIRED, 600), NOW) is None


@pytest.mark.parametrize(
    ("state", "colour"),
    [
        (State.ACTIVE, GREEN),
        (State.RETRYING, AMBER),
        (State.EXPIRED, RED),
        (State.FAILED, RED),
        (State.SIGNED_OUT, GREY),
        (State.PAUSED, GREY),
        (State.SIGNING_IN, BLUE_GREY),
    ],
)
def test_dominant_colour_is_the_documented_state_colour(state: State, colour: str) -> None:
    snapshot = every_state()[state]
    assert distance(dominant_colour(render_pixmap(snapshot, NOW)), rgb(colour)) <= 2
    assert state_colour(snapshot, NOW) == QColor(colour)


def test_active_turns_amber_under_three_minutes() -> None:
    two_minutes = snap(State.ACTIVE, 110)
    assert distance(dominant_colour(render_pixmap(two_minutes, NOW)), rgb(AMBER)) <= 2
    assert state_colour(snap(State.ACTIVE, AMBER_BELOW_SECONDS - 1), NOW) == QColor(AMBER)
    assert state_colour(snap(State.ACTIVE, AMBER_BELOW_SECONDS), NOW) == QColor(GREEN)


def test_the_number_drawn_changes_the_pixels_and_only_it_does() -> None:
    fourteen = render_pixmap(snap(State.ACTIVE, 14 * 60 - 5), NOW).toImage()
    seven = render_pixmap(snap(State.ACTIVE, 7 * 60 - 5), NOW).toImage()
    fourteen_later = render_pixmap(snap(State.ACTIVE, 14 * 60 - 5), NOW + 40).toImage()
    assert fourteen != seven
    assert fourteen == fourteen_later


@pytest.mark.parametrize("size", [64, 22])
def test_every_pair_of_states_differs_in_shape_alone(size: int) -> None:
    """Alpha masks, so colour plays no part: a clear share of pixels is opaque in one only."""
    masks = {
        s: [p[3] for p in pixels(render_pixmap(snap_, NOW, size))]
        for s, snap_ in every_state().items()
    }
    for a, b in itertools.combinations(State, 2):
        differing = sum(abs(x - y) > 128 for x, y in zip(masks[a], masks[b], strict=True))
        assert differing >= size * size // 50, (a, b, differing)


def test_every_pair_of_states_differs_in_grey_at_16_px() -> None:
    """At 16 px the glyphs carry part of the shape: compare what a colour-blind eye sees."""
    greys = {
        s: [round(luminance(p) * p[3]) for p in pixels(render_pixmap(snap_, NOW, 16))]
        for s, snap_ in every_state().items()
    }
    for a, b in itertools.combinations(State, 2):
        differing = sum(abs(x - y) > 64 for x, y in zip(greys[a], greys[b], strict=True))
        assert differing >= 10, (a, b, differing)


@pytest.mark.parametrize("size", [64, 16])
@pytest.mark.parametrize("state", list(State))
def test_auto_outline_reads_on_black_and_on_white(state: State, size: int) -> None:
    snapshot = every_state()[state]
    pixmap = render_pixmap(snapshot, NOW, size)
    fill = state_colour(snapshot, NOW).name()
    assert edge_stands_out(pixmap, fill, "#000000")
    assert edge_stands_out(pixmap, fill, "#ffffff")


def test_panel_override_keeps_the_outline_that_panel_needs() -> None:
    snapshot = snap(State.SIGNED_OUT)
    light = render_pixmap(snapshot, NOW, panel="light")
    dark = render_pixmap(snapshot, NOW, panel="dark")
    assert edge_stands_out(light, GREY, "#ffffff")
    assert edge_stands_out(dark, GREY, "#000000")
    assert all(distance(p, rgb(HALO_LIGHT)) > 8 for p in pixels(light) if p[3] == 255)
    assert all(distance(p, rgb(OUTLINE_DARK)) > 8 for p in pixels(dark) if p[3] == 255)
    assert icon_key(snapshot, NOW, "light") != icon_key(snapshot, NOW, "dark")


def test_unknown_panel_is_refused() -> None:
    with pytest.raises(ValueError, match="panel"):
        icon_key(snap(State.ACTIVE, 600), NOW, "purple")


def test_dpr_two_draws_twice_the_pixels() -> None:
    pixmap = render_pixmap(snap(State.ACTIVE, 600), NOW, size=22, dpr=2.0)
    assert pixmap.size() == QSize(44, 44)
    assert pixmap.devicePixelRatio() == 2.0


def test_icon_holds_a_native_pixmap_for_every_size_and_scale() -> None:
    snapshot = snap(State.ACTIVE, 600)
    icon = render_icon(snapshot, NOW, dprs=(2.0,))
    for size, dpr in itertools.product(ICON_SIZES, (1.0, 2.0)):
        pixmap = icon.pixmap(QSize(size, size), dpr)
        assert pixmap.devicePixelRatio() == dpr
        assert pixmap.toImage() == render_pixmap(snapshot, NOW, size, dpr).toImage()


def drawn_on_demand(snapshot: Snapshot) -> tuple[QIcon, list[tuple[int, float]]]:
    """An icon drawn by the app's engine, and the (size, scale) of each pixmap it drew."""
    drawn: list[tuple[int, float]] = []

    def draw(size: int, dpr: float) -> QPixmap:
        drawn.append((size, dpr))
        return render_pixmap(snapshot, NOW, size, dpr)

    return QIcon(DrawnEngine(draw, ICON_SIZES, (1.0, 2.0))), drawn


def test_an_icon_draws_a_size_only_when_a_panel_first_asks_for_it() -> None:
    """Start-up and each minute's redraw pay for the sizes a panel shows, not for all twelve."""
    snapshot = snap(State.ACTIVE, 600)
    icon, drawn = drawn_on_demand(snapshot)
    assert drawn == []
    assert icon.pixmap(QSize(22, 22), 1.0).toImage() == render_pixmap(snapshot, NOW, 22).toImage()
    icon.pixmap(QSize(22, 22), 1.0)
    assert drawn == [(22, 1.0)]
    icon.pixmap(QSize(22, 22), 2.0)
    icon.pixmap(QSize(20, 20), 1.0)  # no 20: the next size up, already drawn
    assert drawn == [(22, 1.0), (22, 2.0)]
    assert {size.width() for size in icon.availableSizes()} == {
        round(size * dpr) for size in ICON_SIZES for dpr in (1.0, 2.0)
    }


def test_cache_redraws_only_when_the_picture_changes() -> None:
    cache = StatusIconCache()
    first = cache.icon(snap(State.ACTIVE, 10 * 60), NOW)
    for second in range(1, 60):
        assert cache.icon(snap(State.ACTIVE, 10 * 60), NOW + second).cacheKey() == first.cacheKey()
    assert cache.renders == 1
    cache.icon(snap(State.ACTIVE, 10 * 60), NOW + 60)
    assert cache.renders == 2
    cache.icon(snap(State.RETRYING, 10 * 60), NOW + 60)
    assert cache.renders == 3
    cache.icon(snap(State.RETRYING, 10 * 60), NOW + 60, panel="dark")
    assert cache.renders == 4


def test_cache_redraws_when_the_session_turns_amber_within_a_minute() -> None:
    snapshot = snap(State.ACTIVE, AMBER_BELOW_SECONDS)
    assert minutes_left(snapshot, NOW) == minutes_left(snapshot, NOW + 1) == 3
    cache = StatusIconCache()
    cache.icon(snapshot, NOW)
    cache.icon(snapshot, NOW + 1)
    assert cache.renders == 2


@pytest.mark.parametrize("dpr", [1.0, 2.0])
def test_painting_draws_the_pixmap_native_to_the_devices_scale(dpr: float) -> None:
    """The scale comes from the painter's device transform (see ``PixmapsEngine.paint``)."""
    snapshot = snap(State.ACTIVE, 600)
    icon, drawn = drawn_on_demand(snapshot)
    canvas = QImage(round(22 * dpr), round(22 * dpr), QImage.Format.Format_ARGB32_Premultiplied)
    canvas.setDevicePixelRatio(dpr)
    canvas.fill(0)
    painter = QPainter(canvas)
    icon.paint(painter, QRect(0, 0, 22, 22))
    painter.end()

    assert drawn == [(22, dpr)]
    assert canvas == render_pixmap(snapshot, NOW, 22, dpr).toImage().convertToFormat(
        QImage.Format.Format_ARGB32_Premultiplied
    )
