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
"""

from __future__ import annotations

import atexit
import logging
import sys

from PySide6.QtCore import QCoreApplication, QMimeData, QObject, QTimer, Signal, Slot
from PySide6.QtGui import QClipboard, QGuiApplication

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
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._platform = platform
        self._clipboard = clipboard or QGuiApplication.clipboard()
        self._clear_after = 0.0
        self._copied_text: str | None = None
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

    def copy(self, text: str) -> None:
        """Put ``text`` on the clipboard, marked secret; schedule the clear if one is set."""
        global _last_copied
        self._clipboard.setMimeData(
            secret_mime_data(text, self._platform), QClipboard.Mode.Clipboard
        )
        self._copied_text = _last_copied = text
        if self._clear_after:
            self._timer.start(round(self._clear_after * 1000))
        else:
            self._timer.stop()
        self.copied.emit()

    @Slot()
    def clear_if_ours(self) -> bool:
        """Empty the clipboard if it still holds exactly what we copied; True if it did."""
        self._timer.stop()
        text, self._copied_text = self._copied_text, None
        if text is None:
            return False
        if self._clipboard.text(QClipboard.Mode.Clipboard) != text:
            log.debug("clipboard changed since the copy: left alone")
            return False
        self._clipboard.clear(QClipboard.Mode.Clipboard)
        self.cleared.emit()
        return True

    @Slot()
    def _on_quit(self) -> None:
        self.clear_if_ours()
