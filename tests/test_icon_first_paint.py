"""The tray icon's first paint builds no Python type of QtWidgets' widgets.

PySide6 creates a wrapped class's Python type the first time Python meets an object of it.
The icon engine used to ask the painter for its device to read its scale; on X11 the device is
the tray's own widget, and building the ``QWidget`` type (with all its methods and enums) held
the event loop for some 20 ms between showing the icon and its embedding by the tray host,
which was most of the app's start-up cost over a bare tray. The child below shows an icon
drawn by the app's engine on Xvfb with trayer, a real XEmbed tray, and tells once it painted.
"""

from __future__ import annotations

import subprocess
import sys

from desktop_stack import Sandbox, Service

CHILD = r"""
import sys
import PySide6.QtWidgets as widgets
from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QApplication, QSystemTrayIcon
from tray_app.ui.icon_engine import PixmapsEngine

class Engine(PixmapsEngine):
    def paint(self, painter, rect, mode, state):
        super().paint(painter, rect, mode, state)
        print("painted; QWidget type built:", "QWidget" in vars(widgets), flush=True)
        QTimer.singleShot(0, app.quit)

app = QApplication(sys.argv[:1])
pixmaps = []
for side in (16, 22, 24, 32):
    pixmap = QPixmap(side, side)
    pixmap.fill(QColor("#2b8a3e"))
    pixmaps.append(pixmap)
icon = QSystemTrayIcon()
icon.setIcon(QIcon(Engine(pixmaps)))
icon.show()
QTimer.singleShot(20_000, lambda: app.exit(3))
sys.exit(app.exec())
"""


def test_the_first_paint_on_an_xembed_tray_builds_no_widget_type(
    desktop_home: Sandbox, tray_host: Service
) -> None:
    env = {**tray_host.env, **desktop_home.overrides, "QT_QPA_PLATFORM": "xcb"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "painted; QWidget type built: False" in done.stdout, done.stdout + done.stderr[-500:]
