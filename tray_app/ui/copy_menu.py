"""The menu's "Copy as…" submenu and "Copy proxy URL": the session in every shape a tool wants.

The texts come from :mod:`tray_app.core.copy_formats`; each is built when its entry is
clicked, from the keeper's snapshot of that moment, so a copy never holds an ID that was
replaced while the menu was open. Everything goes through :class:`SecretClipboard`
(marked secret for clipboard managers), the proxy's URL included: its token is as good as
the ID to anyone on this machine.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from tray_app.core.copy_formats import (
    CopyFormat,
    masked_proxy_url,
    proxy_formats,
    session_formats,
)
from tray_app.qt.keeper import Keeper

Copy = Callable[[str, str, str, bool], None]
"""(text, title, detail, holds the ID): puts ``text`` on the clipboard and says so."""
Say = Callable[[str, str], None]
"""(title, detail): tells the user something, e.g. that there was nothing to copy."""

_PLACEHOLDER_ID = "0" * 32
_PLACEHOLDER_URL = "http://127.0.0.1:0/token"


class CopyMenu:
    """Adds "Copy as…" and "Copy proxy URL" to ``menu``; ``copy`` does the copying."""

    def __init__(self, menu: QMenu, keeper: Keeper, copy: Copy, say: Say) -> None:
        self._keeper = keeper
        self._copy = copy
        self._say = say
        self._proxy_url: str | None = None
        self.submenu = menu.addMenu("Copy as…")
        self.proxy_line = menu.addAction("")
        self.proxy_line.setEnabled(False)
        self.proxy_url_action = menu.addAction("Copy proxy URL")
        self.proxy_url_action.triggered.connect(lambda: self._copy_entry("proxy-url"))
        self.actions: dict[str, QAction] = {}
        for entry in self._entries(_PLACEHOLDER_ID, _PLACEHOLDER_URL):
            if entry.key == "proxy-ping":
                self.submenu.addSeparator()
            action = self.submenu.addAction(entry.label)
            action.triggered.connect(lambda _checked=False, key=entry.key: self._copy_entry(key))
            self.actions[entry.key] = action
        self.refresh()

    def set_proxy_url(self, url: str | None) -> None:
        """The running proxy's URL, or None while no proxy runs."""
        self._proxy_url = url
        self.refresh()

    def refresh(self) -> None:
        """Enable what can be copied now; the proxy's entries show only while it runs."""
        has_session = self._keeper.snapshot.session_id is not None
        has_proxy = self._proxy_url is not None
        for key, action in self.actions.items():
            through_proxy = key.startswith("proxy-")
            action.setVisible(has_proxy or not through_proxy)
            action.setEnabled(has_proxy if through_proxy else has_session)
        self.proxy_url_action.setVisible(has_proxy)
        self.proxy_line.setVisible(has_proxy)
        if self._proxy_url is not None:
            self.proxy_line.setText(f"Proxy: {masked_proxy_url(self._proxy_url)}")
        self.submenu.setEnabled(has_session or has_proxy)

    def _entries(self, session_id: str | None, proxy_url: str | None) -> list[CopyFormat]:
        base_url = self._keeper.base_url
        entries = session_formats(session_id, base_url) if session_id else []
        return entries + (proxy_formats(proxy_url) if proxy_url else [])

    def _copy_entry(self, key: str) -> None:
        session_id = self._keeper.snapshot.session_id
        found = {e.key: e for e in self._entries(session_id, self._proxy_url)}.get(key)
        if found is None:
            self._say("Nothing copied", "No session yet." if session_id is None else "")
            return
        through_proxy = key.startswith("proxy-")
        shown = "no session ID in it" if through_proxy else "with the session ID"
        self._copy(found.text, f"{found.label} copied", shown, not through_proxy)
