"""Owning the Wayland clipboard through the data-control protocol, and proving it.

A click on a StatusNotifierItem icon or a panel-drawn menu reaches the app over D-Bus, not as
input on a surface of its own, so the core protocol's ``set_selection`` (which wants an input
serial, and on some compositors keyboard focus) is refused, silently. Clipboard managers use
the data-control protocols instead, which need neither: ``ext_data_control_manager_v1``
(wayland-protocols 1.39+; newer wlroots, KWin, COSMIC) or else ``zwlr_data_control_manager_v1``
(wlroots 0.15 in Debian 12's sway, Hyprland, river, labwc, KWin). Both have the same requests and
events, so one client speaks either. GNOME's Mutter offers neither: :class:`DataControl`
then raises :class:`DataControlUnavailable`, and the app copies from a window of its own.

The source offers the text types and ``x-kde-passwordManagerHint: secret`` and answers every
``send`` for as long as it owns the selection; ``cancelled`` (someone else copied) ends that.
A copy counts only once read back through the same compositor: our own offer, received through
a pipe, served by our own source.

``CLICKATELL_TRAY_NO_DATA_CONTROL=1`` makes the app behave as on a compositor without the
protocol (for tests, and for a compositor whose implementation misbehaves).
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Mapping

from tray_app.ui.wayland_wire import (
    Connection,
    Handler,
    WaylandError,
    pack_string,
    pack_uint,
    read_string,
    read_uint,
    socket_path,
)

log = logging.getLogger(__name__)

MANAGERS = ("ext_data_control_manager_v1", "zwlr_data_control_manager_v1")
TEXT_TYPES = ("text/plain;charset=utf-8", "text/plain", "UTF8_STRING", "STRING", "TEXT")
HIDE_VARIABLE = "CLICKATELL_TRAY_NO_DATA_CONTROL"
READ_BACK_TIMEOUT = 1.0

# Requests and events, by opcode; the same numbers in the ext_ and the zwlr_ protocol.
_MANAGER_CREATE_SOURCE, _MANAGER_GET_DEVICE = 0, 1
_DEVICE_SET_SELECTION = 0
_DEVICE_DATA_OFFER, _DEVICE_SELECTION, _DEVICE_FINISHED = 0, 1, 2
_SOURCE_OFFER, _SOURCE_DESTROY = 0, 1
_SOURCE_SEND, _SOURCE_CANCELLED = 0, 1
_OFFER_RECEIVE, _OFFER_DESTROY = 0, 1
_OFFER_OFFER = 0


class DataControlUnavailable(WaylandError):
    """No Wayland session, or a compositor that offers no data-control protocol."""


class DataControl:
    """A data-control client on one seat: copy, clear if still ours, read the selection."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        offered = [name for name in MANAGERS if name in connection.globals]
        if not offered or "wl_seat" not in connection.globals:
            connection.close()
            raise DataControlUnavailable("the compositor offers no data-control protocol")
        self.protocol = offered[0]
        self._offers: dict[int, list[str]] = {}
        self._selection: int | None = None
        self._source: int | None = None
        self._payloads: dict[str, bytes] = {}
        self._finished = False
        seat = connection.bind("wl_seat", 1)
        self._manager = connection.bind(self.protocol, 1)
        self._device = connection.new_id(self._device_event)
        connection.request(
            self._manager, _MANAGER_GET_DEVICE, pack_uint(self._device) + pack_uint(seat)
        )
        connection.roundtrip()

    @classmethod
    def connect(cls, env: Mapping[str, str] | None = None) -> DataControl:
        """Connect to the session's compositor; raises DataControlUnavailable if it cannot help."""
        env = dict(os.environ) if env is None else dict(env)
        if env.get(HIDE_VARIABLE) == "1":
            raise DataControlUnavailable(f"data control switched off ({HIDE_VARIABLE}=1)")
        path = socket_path(env)
        if path is None:
            raise DataControlUnavailable("not a Wayland session")
        return cls(Connection(path))

    def fileno(self) -> int:
        return self._connection.fileno()

    @property
    def alive(self) -> bool:
        return not (self._connection.closed or self._finished)

    @property
    def owns_selection(self) -> bool:
        """True while our last copy is the selection (no ``cancelled`` since)."""
        return self._source is not None

    def dispatch(self) -> None:
        """Serve what the compositor sent (``send`` requests, ``cancelled``); never blocks."""
        self._connection.dispatch()

    def copy(self, text: str, extra: Mapping[str, bytes]) -> None:
        """Make ``text`` the selection, offering ``extra`` types too; raises unless read back."""
        self._drop_source()
        payload = text.encode()
        self._payloads = {mime: payload for mime in TEXT_TYPES} | dict(extra)
        source = self._connection.new_id()
        self._connection.handle(source, self._source_events(source))
        self._connection.request(self._manager, _MANAGER_CREATE_SOURCE, pack_uint(source))
        for mime in self._payloads:
            self._connection.request(source, _SOURCE_OFFER, pack_string(mime))
        self._connection.request(self._device, _DEVICE_SET_SELECTION, pack_uint(source))
        self._source = source
        self._connection.roundtrip()
        offered = self._offers.get(self._selection or 0, [])
        if not set(self._payloads) <= set(offered):
            raise WaylandError("the compositor did not make our copy the selection")
        if self.read_selection(TEXT_TYPES[0]) != payload:
            raise WaylandError("the clipboard did not hand back what was copied")

    def clear(self) -> bool:
        """Empty the selection if our copy still is it; True if it was cleared."""
        if self._source is None or not self.alive:
            return False
        self._connection.request(self._device, _DEVICE_SET_SELECTION, pack_uint(0))
        self._connection.roundtrip()
        self._drop_source()
        return self._selection is None

    def read_selection(self, mime: str) -> bytes | None:
        """The selection as ``mime``, read through a pipe; None if nothing offers that type."""
        offer = self._selection
        if offer is None or mime not in self._offers.get(offer, []):
            return None
        read_end, write_end = os.pipe()
        try:
            self._connection.request(offer, _OFFER_RECEIVE, pack_string(mime), fds=[write_end])
        finally:
            os.close(write_end)
        chunks: list[bytes] = []
        try:
            while True:
                self._connection.dispatch_until(lambda: False, READ_BACK_TIMEOUT, [read_end])
                chunk = os.read(read_end, 4096)
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)
        finally:
            os.close(read_end)

    def close(self) -> None:
        self._connection.close()

    def _drop_source(self) -> None:
        if self._source is not None and self.alive:
            self._connection.request(self._source, _SOURCE_DESTROY)
        self._source = None

    def _device_event(self, opcode: int, payload: bytes, _fds: deque[int]) -> None:
        if opcode == _DEVICE_DATA_OFFER:
            offer = read_uint(payload)[0]
            self._offers[offer] = []
            self._connection.handle(offer, self._offer_event(offer))
        elif opcode == _DEVICE_SELECTION:
            chosen = read_uint(payload)[0] or None
            for old in [known for known in self._offers if known != chosen]:
                self._connection.request(old, _OFFER_DESTROY)
                del self._offers[old]
            self._selection = chosen
        elif opcode == _DEVICE_FINISHED:
            self._finished = True
        else:  # primary_selection (version 2, not bound): an offer nobody will use
            offer = read_uint(payload)[0]
            if offer and offer in self._offers and offer != self._selection:
                self._connection.request(offer, _OFFER_DESTROY)
                del self._offers[offer]

    def _offer_event(self, offer: int) -> Handler:
        def handle(opcode: int, payload: bytes, _fds: deque[int]) -> None:
            if opcode == _OFFER_OFFER and offer in self._offers:
                self._offers[offer].append(read_string(payload)[0])

        return handle

    def _source_events(self, source: int) -> Handler:
        """Events of one source; a replaced or destroyed one only closes what it is sent."""

        def handle(opcode: int, payload: bytes, fds: deque[int]) -> None:
            current = source == self._source
            if opcode == _SOURCE_SEND:
                mime, _ = read_string(payload)
                fd = fds.popleft()
                try:
                    data = self._payloads.get(mime) if current else None
                    if data:
                        os.write(fd, data)
                except OSError as exc:  # the reader went away: its loss
                    log.debug("clipboard send of %s failed: %s", mime, exc)
                finally:
                    os.close(fd)
            elif opcode == _SOURCE_CANCELLED and current:
                log.debug("clipboard: another copy replaced ours")
                self._drop_source()

        return handle
