"""Start-up's leftovers given back once the app is running (see ``core.memory``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer

if TYPE_CHECKING:
    from tray_app.qt.keeper import Keeper

log = logging.getLogger(__name__)


def release_when_started(keeper: Keeper) -> None:
    """Drop start-up's leftovers once, on the event loop's next turn after start-up is over."""
    connections: list[object] = []

    def release() -> None:
        from tray_app.core.memory import release_after_start

        trimmed = release_after_start()
        log.debug("start-up caches dropped%s", "; allocator trimmed" if trimmed else "")

    def soon(*_args: object) -> None:
        if not connections:
            return  # already on its way
        for connection in connections:
            QObject.disconnect(connection)  # type: ignore[call-overload]
        connections.clear()
        QTimer.singleShot(0, release)

    connections.append(keeper.request_done.connect(soon))
    connections.append(
        keeper.started.connect(lambda has_credentials: None if has_credentials else soon())
    )
