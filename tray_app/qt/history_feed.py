"""Feeds the Recent events log from the keeper's signals, from the start of the run.

Built with the keeper (not with the window), so the window shows the morning's events even
when it is opened at noon. The words and the bound live in :mod:`tray_app.core.history`.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from tray_app.core.history import History, event_entry, result_entry, state_entry
from tray_app.core.session import Event, Request
from tray_app.core.state import State
from tray_app.qt.keeper import Keeper


class HistoryFeed(QObject):
    """Listens to a keeper and keeps :class:`History`; ``added`` after each new entry."""

    added = Signal()

    def __init__(
        self, keeper: Keeper, clock: Callable[[], float], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.history = History()
        self._keeper = keeper
        self._clock = clock
        self._state = keeper.snapshot.state
        keeper.request_done.connect(self._request_done)
        keeper.event.connect(self._event)
        keeper.state_changed.connect(self._state_changed)

    def _add(self, entry: object) -> None:
        if self.history.add(entry):  # type: ignore[arg-type]
            self.added.emit()

    def _request_done(self, request: Request, result: object) -> None:
        self._add(result_entry(self._clock(), request.command, result))

    def _event(self, event: Event) -> None:
        self._add(event_entry(self._clock(), event, self._keeper.snapshot.session_id))

    def _state_changed(self, state: State) -> None:
        before, self._state = self._state, state
        self._add(state_entry(self._clock(), before, state))
