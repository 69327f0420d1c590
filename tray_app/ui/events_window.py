"""The Recent events window: this run's events, newest first, with local times.

A plain list a person can read, copy a line from (to paste into a ticket), and a way to the
full log file, which keeps what the window lets fall off. Not a dialog: it stays open beside
the work and follows new events as they come.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import (
    QColor,
    QDesktopServices,
    QGuiApplication,
    QKeySequence,
    QPalette,
    QShortcut,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from tray_app import APP_NAME
from tray_app.core.history import Entry, Kind
from tray_app.qt.history_feed import HistoryFeed
from tray_app.ui.forms import message_label

_MARK = {Kind.OK: "✓", Kind.FAILED: "✗", Kind.INFO: "•"}


def entry_line(entry: Entry) -> str:
    """One line as shown and as copied: local time, a mark that reads without colour, text."""
    stamp = time.strftime("%H:%M:%S", time.localtime(entry.at))
    return f"{stamp}  {_MARK[entry.kind]} {entry.text}"


def open_folder(path: Path) -> bool:
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


class EventsWindow(QWidget):
    """Lists ``feed``'s history; Copy copies the chosen line, Open log folder shows the log."""

    def __init__(
        self,
        feed: HistoryFeed,
        *,
        log_dir: Path,
        opener: Callable[[Path], bool] = open_folder,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Recent events — {APP_NAME}")
        self.resize(640, 360)
        self._feed = feed
        self._log_dir = log_dir
        self._opener = opener
        self.list = QListWidget()
        self.list.setObjectName("events")
        self.list.setAccessibleName("Recent events, newest first")
        self.list.setUniformItemSizes(True)
        dark = self.palette().color(QPalette.ColorRole.Base).lightnessF() < 0.5
        self._failed_colour = QColor("#ff8787" if dark else "#c92a2a")  # the mark reads alone
        self.copy_button = QPushButton("&Copy")
        self.copy_button.setObjectName("copy")
        self.copy_button.setToolTip("Copy the chosen line (session IDs in it are masked)")
        self.copy_button.clicked.connect(self.copy_line)
        self.open_button = QPushButton("Open &log folder")
        self.open_button.setObjectName("open_log_folder")
        self.open_button.setToolTip(str(log_dir))
        self.open_button.clicked.connect(self.open_log_folder)
        self.note = message_label(1, error=False)
        self.note.setObjectName("note")
        buttons = QHBoxLayout()
        buttons.addWidget(self.copy_button)
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        heading = QLabel("This run's last 200 events, newest first. The log file keeps all.")
        heading.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(heading)
        layout.addWidget(self.list)
        layout.addWidget(self.note)
        layout.addLayout(buttons)
        QShortcut(QKeySequence.StandardKey.Copy, self.list, self.copy_line)
        self.list.currentRowChanged.connect(self._update_buttons)
        feed.added.connect(self._follow)
        self.reload()

    def lines(self) -> list[str]:
        return [self.list.item(row).text() for row in range(self.list.count())]

    def reload(self) -> None:
        """Show the history again, keeping the chosen line chosen if it is still there."""
        chosen = self.list.currentItem()
        chosen_text = chosen.text() if chosen is not None else None
        self.list.clear()
        for entry in self._feed.history.newest_first():
            item = QListWidgetItem(entry_line(entry))
            item.setToolTip(entry.text)  # the whole line where the window is too narrow
            if entry.kind is Kind.FAILED:
                item.setForeground(self._failed_colour)
            self.list.addItem(item)
            if item.text() == chosen_text:
                self.list.setCurrentItem(item)
        if self.list.count() == 0:
            self.list.addItem("Nothing has happened yet in this run.")
            self.list.item(0).setFlags(Qt.ItemFlag.NoItemFlags)
        self._update_buttons()

    def copy_line(self) -> None:
        item = self.list.currentItem()
        if item is None or not item.flags() & Qt.ItemFlag.ItemIsSelectable:
            return
        QGuiApplication.clipboard().setText(item.text())
        self._say("Copied the line.")

    def open_log_folder(self) -> None:
        self._log_dir.mkdir(parents=True, exist_ok=True)
        if self._opener(self._log_dir):
            self.note.hide()
        else:
            self._say(f"Could not open a file manager; the log is in {self._log_dir}")

    def _say(self, text: str) -> None:
        self.note.setText(text)
        self.note.show()

    def _update_buttons(self, _row: int = -1) -> None:
        item = self.list.currentItem()
        self.copy_button.setEnabled(
            item is not None and bool(item.flags() & Qt.ItemFlag.ItemIsSelectable)
        )

    def showEvent(self, event: QShowEvent) -> None:
        self.reload()
        super().showEvent(event)

    def _follow(self) -> None:
        """A hidden window does not rebuild its list; it catches up when shown."""
        if self.isVisible():
            self.reload()
