"""Sent messages, their status over time, and the bounded store that keeps them.

A message's status is not stored and updated by timers: it follows from the times recorded at
send (and cancel) and the injected clock's ``now``, so a test moves a message from queued to
received by advancing a fake clock, and an idle simulator costs nothing.

Lifecycle (status codes of the overview's table, see ``codes.py``)::

    011 queued for later delivery   while a deliv_time delay runs
    002 queued                      for ``to_gateway`` seconds once due
    003 delivered to gateway        for ``to_handset`` seconds more
    004 received by recipient       or 007 error delivering, for a failed delivery
    006 user cancelled              after a delmsg while still 002 or 011

Callbacks are not posted anywhere: the ``callback`` value is kept and shown, nothing more.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from tray_app.sim import codes

DEFAULT_MAX_MESSAGES = 10_000


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """How long a message spends in each status on its way to the handset."""

    to_gateway: float = 1.0
    to_handset: float = 3.0

    def __post_init__(self) -> None:
        for name in ("to_gateway", "to_handset"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number of seconds >= 0, not {value!r}")


@dataclass(slots=True)
class Message:
    """One message to one recipient, as the gateway keeps it."""

    apimsgid: str
    owner: tuple[str, str]  # (api_id, user) of the account that sent it
    to: str
    sender: str
    text: str
    climsgid: str
    parts: int
    charge: float
    callback: int
    sent_at: float
    due_at: float  # when it leaves the queue: sent_at, or later with deliv_time
    fails: bool  # its delivery will end in 007
    cancelled: bool = False

    def status(self, now: float, lifecycle: Lifecycle) -> str:
        """The status code this message has at wall time ``now``."""
        if self.cancelled:
            return codes.CANCELLED
        if now < self.due_at:
            return codes.LATER
        if now < self.due_at + lifecycle.to_gateway:
            return codes.QUEUED
        if now < self.due_at + lifecycle.to_gateway + lifecycle.to_handset:
            return codes.AT_GATEWAY
        return codes.DELIVERY_ERROR if self.fails else codes.RECEIVED

    def cancel(self, now: float, lifecycle: Lifecycle) -> bool:
        """Stop a message that has not left the queue; True if it was stopped now."""
        if self.status(now, lifecycle) not in (codes.QUEUED, codes.LATER):
            return False
        self.cancelled = True
        return True


class MessageStore:
    """The newest ``limit`` messages by API message ID; older ones are dropped, oldest first.

    Not thread-safe by itself: the model calls it under its own lock.
    """

    def __init__(self, limit: int = DEFAULT_MAX_MESSAGES) -> None:
        if limit < 1:
            raise ValueError(f"the message limit must be at least 1, not {limit!r}")
        self.limit = limit
        self._by_id: dict[str, Message] = {}
        self._by_client_id: dict[tuple[tuple[str, str], str], str] = {}
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._by_id)

    def add(self, message: Message) -> None:
        self._by_id[message.apimsgid] = message
        if message.climsgid:
            self._by_client_id[(message.owner, message.climsgid)] = message.apimsgid
        while len(self._by_id) > self.limit:
            oldest = next(iter(self._by_id))
            self._forget(self._by_id.pop(oldest))

    def _forget(self, message: Message) -> None:
        self.dropped += 1
        key = (message.owner, message.climsgid)
        if message.climsgid and self._by_client_id.get(key) == message.apimsgid:
            del self._by_client_id[key]

    def get(self, owner: tuple[str, str], apimsgid: str) -> Message | None:
        """The account's message with this ID; another account's messages stay unknown."""
        message = self._by_id.get(apimsgid)
        return message if message is not None and message.owner == owner else None

    def by_client_id(self, owner: tuple[str, str], climsgid: str) -> Message | None:
        """The newest of the account's messages sent with this client message ID."""
        apimsgid = self._by_client_id.get((owner, climsgid))
        return None if apimsgid is None else self._by_id.get(apimsgid)

    def newest_first(self) -> Iterator[Message]:
        return reversed(self._by_id.values())
