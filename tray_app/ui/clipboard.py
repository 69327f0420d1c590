"""Copying the session ID as a secret, and taking it back later if nobody replaced it.

The copy carries the marks clipboard managers honour for passwords, so the ID does not land
in a clipboard history: ``x-kde-passwordManagerHint: secret`` (Klipper, CopyQ, GPaste and
others) everywhere but macOS; on Windows also the formats that keep a copy out of Win+V
history and the cloud clipboard; on macOS ``application/x-nspasteboard-concealed-type``, the
name KeePassXC uses. (Qt publishes an unknown MIME type on macOS under a
``com.trolltech.anymime.*`` type; the pasteboard sees ``org.nspasteboard.ConcealedType`` only
through a QUtiMimeConverter, which is not wired up here.)

Decisions:

* Only the CLIPBOARD selection, not X11's PRIMARY: clicking "copy" is an explicit copy, which
  the freedesktop clipboard spec puts on CLIPBOARD; PRIMARY belongs to whatever the user
  highlights, and a second copy of the secret would be one more place to clear.
* The auto-clear compares before it clears: it empties the clipboard only while it still
  holds exactly the copied text, so anything the user copied since survives. The same text
  copied again from elsewhere counts as ours: it is the same secret.
* On quit the copied ID is cleared if the clipboard still holds it, auto-clear or not: once
  the app is gone nobody keeps the session alive, and on X11 the clipboard would empty
  with its owner anyway (a clipboard manager taking it over is asked not to keep secrets).
* The same happens when Python exits without a quit (tests, a crash in start-up): offscreen
  Qt deletes its clipboard's data only after Python has gone, and deleting a QMimeData made
  in Python then crashes in PySide's wrapper; so ours is handed back while Python lives.

Routes, and what counts as copied (a copy is reported only once it is known to be there):

* Wayland session (``WAYLAND_DISPLAY`` set, whichever Qt platform plugin) whose compositor
  offers data control: :mod:`tray_app.ui.data_control`, read back through the compositor.
  Clearing empties the selection only while our source still owns it (no ``cancelled``).
* Native Wayland without data control (GNOME's Mutter): the compositor takes the clipboard
  only from the focused window of a user's click, which a tray click never is. ``copy``
  returns ``NEEDS_WINDOW`` and touches nothing; the caller opens the status window, whose
  Copy button calls ``copy(text, from_window=True)``: Qt's clipboard, with the window that
  has the keyboard focus as the proof the compositor asks for (nothing else can read the
  clipboard back there).
* X11, XWayland without data control, offscreen, macOS, Windows: Qt's clipboard, read back.
"""

from __future__ import annotations

import atexit
import enum
import logging
import os
import sys
from dataclasses import dataclass

from PySide6.QtCore import (
    QCoreApplication,
    QMimeData,
    QObject,
    QSocketNotifier,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QClipboard, QGuiApplication

from tray_app.ui.data_control import DataControl
from tray_app.ui.wayland_wire import WaylandError

log = logging.getLogger(__name__)

PASSWORD_HINT = "x-kde-passwordManagerHint"
MAC_CONCEALED = "application/x-nspasteboard-concealed-type"
_DWORD_ZERO = (0).to_bytes(4, "little")
WINDOWS_FORMATS = {
    f'application/x-qt-windows-mime;value="{name}"': _DWORD_ZERO
    for name in (
        "ExcludeClipboardContentFromMonitorProcessing",
        "CanIncludeInClipboardHistory",
        "CanUploadToCloudClipboard",
    )
}
"""Raw Windows clipboard formats, named as Qt spells them, each a DWORD 0."""

_last_copied: str | None = None


class CopyResult(enum.Enum):
    COPIED = "copied"
    NEEDS_WINDOW = "needs a window"
    FAILED = "failed"


@dataclass(frozen=True)
class CopyOutcome:
    """What a copy did; ``reason`` says why it did not, in words for the user."""

    result: CopyResult
    reason: str = ""

    @property
    def copied(self) -> bool:
        return self.result is CopyResult.COPIED


NEEDS_WINDOW_REASON = (
    "This desktop lets only a focused window write the clipboard: "
    "click Copy in the window that opened."
)


def in_wayland_session() -> bool:
    """A Wayland session on Linux, whichever Qt plugin runs (offscreen tests never count)."""
    return (
        sys.platform.startswith("linux")
        and bool(os.environ.get("WAYLAND_DISPLAY"))
        and QGuiApplication.platformName() != "offscreen"
    )


@atexit.register
def _clear_at_exit() -> None:
    """Take our copy back while Python still runs; see the module docstring."""
    if _last_copied is None or QGuiApplication.instance() is None:
        return
    clipboard = QGuiApplication.clipboard()
    if clipboard.text(QClipboard.Mode.Clipboard) == _last_copied:
        clipboard.clear(QClipboard.Mode.Clipboard)


def secret_mime_data(text: str, platform: str = sys.platform) -> QMimeData:
    """``text`` as text/plain plus the platform's "this is a secret" marks."""
    mime = QMimeData()
    mime.setText(text)
    if platform == "darwin":
        mime.setData(MAC_CONCEALED, text.encode())
        return mime
    mime.setData(PASSWORD_HINT, b"secret")
    if platform == "win32":
        for name, value in WINDOWS_FORMATS.items():
            mime.setData(name, value)
    return mime


class SecretClipboard(QObject):
    """Puts secrets on the clipboard and clears them after ``clear_after`` seconds.

    ``clear_after`` is in seconds, 0 for never; fractions are allowed. A new value applies
    from the next copy; setting 0 also cancels a pending clear.
    """

    copied = Signal()
    cleared = Signal()

    def __init__(
        self,
        *,
        clear_after: float = 0,
        platform: str = sys.platform,
        clipboard: QClipboard | None = None,
        wayland: bool | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._platform = platform
        self._clipboard = clipboard or QGuiApplication.clipboard()
        self._clear_after = 0.0
        self._copied_text: str | None = None
        self._copied_through_control = False
        self._wayland = in_wayland_session() if wayland is None else wayland
        self._control: DataControl | None = None
        self._control_problem: str | None = None
        self._notifier: QSocketNotifier | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.clear_if_ours)
        self.clear_after = clear_after
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._on_quit)

    @property
    def clear_after(self) -> float:
        return self._clear_after

    @clear_after.setter
    def clear_after(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("clear_after is a number of seconds, 0 for never")
        self._clear_after = float(seconds)
        if not seconds:
            self._timer.stop()

    @property
    def clear_pending(self) -> bool:
        """True while an auto-clear is scheduled."""
        return self._timer.isActive()

    def copy(self, text: str, *, from_window: bool = False) -> CopyOutcome:
        """Put ``text`` on the clipboard, marked secret, and check it is there.

        ``from_window``: the copy comes from a click in a focused window of ours (the only
        kind a compositor without data control accepts). Schedules the auto-clear on success.
        """
        global _last_copied
        control = self._data_control() if self._wayland else None
        if control is not None:
            try:
                control.copy(text, {PASSWORD_HINT: b"secret"})
            except WaylandError as exc:
                log.warning("Wayland clipboard: %s", exc)
                self._drop_control(f"the compositor refused the copy ({exc})")
                return CopyOutcome(CopyResult.FAILED, f"The copy failed: {exc}.")
        elif self._wayland and QGuiApplication.platformName() == "wayland":
            if not from_window:
                return CopyOutcome(CopyResult.NEEDS_WINDOW, NEEDS_WINDOW_REASON)
            if QGuiApplication.focusWindow() is None:
                return CopyOutcome(
                    CopyResult.FAILED,
                    "Not copied: this window does not have the keyboard focus. "
                    "Click into it, then on Copy again.",
                )
            self._qt_copy(text)
        elif not self._qt_copy(text):
            return CopyOutcome(CopyResult.FAILED, "The clipboard did not take the copy. Try again.")
        self._copied_text = text
        self._copied_through_control = control is not None
        # At exit only Qt's copies need taking back: a data-control source ends with our
        # connection, and Qt reading the Wayland clipboard then would wait on ourselves.
        _last_copied = None if control is not None else text
        if self._clear_after:
            self._timer.start(round(self._clear_after * 1000))
        else:
            self._timer.stop()
        self.copied.emit()
        return CopyOutcome(CopyResult.COPIED)

    def _qt_copy(self, text: str) -> bool:
        """Qt's clipboard; True if it reads back (on X11 Qt checks it became the owner)."""
        self._clipboard.setMimeData(
            secret_mime_data(text, self._platform), QClipboard.Mode.Clipboard
        )
        return self._clipboard.text(QClipboard.Mode.Clipboard) == text

    @Slot()
    def clear_if_ours(self) -> bool:
        """Empty the clipboard if it still holds exactly what we copied; True if it did."""
        self._timer.stop()
        text, self._copied_text = self._copied_text, None
        if text is None:
            return False
        if self._copied_through_control:
            cleared = self._control is not None and self._control.clear()
            if not cleared:
                log.debug("clipboard changed since the copy: left alone")
                return False
        elif self._clipboard.text(QClipboard.Mode.Clipboard) != text:
            log.debug("clipboard changed since the copy: left alone")
            return False
        else:
            self._clipboard.clear(QClipboard.Mode.Clipboard)
        self.cleared.emit()
        return True

    @property
    def route(self) -> str:
        """How copies go now, for the log and the README's table: data control or Qt."""
        control = self._data_control() if self._wayland else None
        if control is not None:
            return f"Wayland data control ({control.protocol})"
        if self._wayland and QGuiApplication.platformName() == "wayland":
            return f"a window of the app ({self._control_problem})"
        return "Qt's clipboard"

    def _data_control(self) -> DataControl | None:
        """The compositor's data control, connected on first use; None where there is none."""
        if self._control is not None and self._control.alive:
            return self._control
        if self._control is not None:
            self._drop_control("the compositor connection closed")
        if self._control_problem is not None:
            return None
        try:
            self._control = DataControl.connect()
        except WaylandError as exc:
            log.info("Wayland clipboard: no data control (%s)", exc)
            self._control_problem = str(exc)
            return None
        self._notifier = QSocketNotifier(self._control.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._serve)
        log.info("Wayland clipboard: %s", self._control.protocol)
        return self._control

    @Slot()
    def _serve(self) -> None:
        """The compositor wrote: a paste to serve, or word that our copy was replaced."""
        if self._control is None:
            return
        try:
            self._control.dispatch()
        except WaylandError as exc:
            log.warning("Wayland clipboard: %s", exc)
            self._drop_control(str(exc))

    def _drop_control(self, problem: str) -> None:
        if self._notifier is not None:
            self._notifier.setEnabled(False)
            self._notifier.deleteLater()
            self._notifier = None
        if self._control is not None:
            self._control.close()
            self._control = None
        self._control_problem = problem

    @Slot()
    def _on_quit(self) -> None:
        self.clear_if_ours()
