"""The local proxy as a part of an owner: switched on and off, following the keeper's server.

Both the tray (when its setting is on, and always in ``--demo``) and ``clickatell-tray
proxy`` run it through this class. The URL is announced with ``url_changed`` (None when the
proxy stops), and a fresh token comes with every start: a URL handed out before a stop
never works again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from tray_app.qt.keeper import Keeper
from tray_app.qt.session_link import SessionLink

if TYPE_CHECKING:
    from tray_app.qt.proxy import LocalProxy

log = logging.getLogger(__name__)


class ProxyService(QObject):
    """Owns the :class:`LocalProxy` of a keeper while it runs."""

    url_changed = Signal(object)
    """The proxy's URL (token included, a secret) when it starts; None when it stops."""

    def __init__(self, keeper: Keeper, *, port: int = 0, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._keeper = keeper
        self._port = port
        self._link = SessionLink(keeper, self)
        self._proxy: LocalProxy | None = None
        keeper.snapshot_changed.connect(self._follow_server)

    @property
    def url(self) -> str | None:
        return self._proxy.url if self._proxy is not None else None

    def set_enabled(self, enabled: bool) -> None:
        """Start or stop; a port that cannot be had raises OSError, for the caller to say."""
        if enabled and self._proxy is None:
            # Imported on the first start: with the proxy off (the tray's default) its HTTP
            # server modules are never loaded.
            from tray_app.qt.proxy import LocalProxy

            self._proxy = LocalProxy(self._link, self._keeper.base_url, port=self._port)
            self._proxy.start()
            self.url_changed.emit(self._proxy.url)
        elif not enabled and self._proxy is not None:
            proxy, self._proxy = self._proxy, None
            proxy.stop()
            log.info("local API proxy stopped")
            self.url_changed.emit(None)

    def stop(self) -> None:
        self.set_enabled(False)

    def _follow_server(self, _snapshot: object) -> None:
        """A new base URL in the settings shows first as a new snapshot (a sign-in there)."""
        if self._proxy is not None:
            self._proxy.set_base_url(self._keeper.base_url)
