"""Pieces shared by the dialogs: message labels that keep their place, plain buttons, icons.

Why the message labels have a fixed height and keep it while hidden: a dialog whose height
follows its messages moves the fields under the pointer each time a hint comes or goes. The
room for each message is reserved once, so the window never changes size by itself.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPalette, QPen, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from tray_app import APP_NAME

# Theme icons for the password toggle (GNOME names first, then KDE's); drawn when none exist.
REVEAL_ICONS = ("view-reveal-symbolic", "view-visible", "password-show-on")
CONCEAL_ICONS = ("view-conceal-symbolic", "view-hidden", "password-show-off")


def note_label(text: str) -> QLabel:
    """Secondary text: smaller and in the palette's muted colour, so it reads as an aside."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 0.9)
    label.setFont(font)
    return label


def message_label(lines: int, *, error: bool = True) -> QLabel:
    """A hidden message with room for ``lines`` wrapped lines reserved, shown or not.

    Plain text only: an error may quote a server, and rich text would render its HTML
    (``<img>`` included, which loads local files). Error text is red,
    readable on dark themes too, and selectable so that an error code can be copied.
    """
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if error:
        palette = label.palette()
        dark = palette.color(QPalette.ColorRole.Window).lightnessF() < 0.5
        palette.setColor(QPalette.ColorRole.WindowText, QColor("#ff8787" if dark else "#c92a2a"))
        label.setPalette(palette)
    label.setFixedHeight(lines * label.fontMetrics().lineSpacing() + 2)
    policy = label.sizePolicy()
    policy.setRetainSizeWhenHidden(True)
    policy.setVerticalPolicy(QSizePolicy.Policy.Fixed)
    label.setSizePolicy(policy)
    label.hide()
    return label


def plain_buttons(box: QDialogButtonBox, primary: QWidget) -> None:
    """No stock icons, and Enter always means ``primary``, wherever the focus has been."""
    for button in box.buttons():
        button.setIcon(QIcon())
        if isinstance(button, QPushButton):
            button.setAutoDefault(False)
            button.setDefault(button is primary)


def eye_icon(colour: QColor, *, crossed: bool) -> QIcon:
    """An eye (struck through for "hide"), for desktops whose icon theme has none."""
    size = 64
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(colour, 5)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    painter.setPen(pen)
    outline = QPainterPath(QPointF(6, 32))
    outline.quadTo(QPointF(32, 4), QPointF(58, 32))
    outline.quadTo(QPointF(32, 60), QPointF(6, 32))
    painter.drawPath(outline)
    painter.setBrush(colour)
    painter.drawEllipse(QRectF(23, 23, 18, 18))
    if crossed:
        painter.drawLine(QPointF(12, 54), QPointF(52, 10))
    painter.end()
    return QIcon(pixmap)


def themed_icon(names: tuple[str, ...], fallback: QIcon) -> QIcon:
    for name in names:
        if QIcon.hasThemeIcon(name):
            return QIcon.fromTheme(name)
    return fallback


def with_message(text: str, field: QWidget, message: QLabel) -> tuple[QLabel, QVBoxLayout]:
    """A form row whose (usually hidden) message sits right under the field."""
    label = QLabel(text)
    label.setBuddy(field)
    column = QVBoxLayout()
    column.setSpacing(2)
    column.addWidget(field)
    column.addWidget(message)
    return label, column


def make_non_blocking(dialog: QDialog, title: str) -> None:
    """The tray shows dialogs with show(): the keep-alive and the menu must not wait on them."""
    dialog.setWindowTitle(f"{title} — {APP_NAME}")
    dialog.setModal(False)
    dialog.setWindowModality(Qt.WindowModality.NonModal)
