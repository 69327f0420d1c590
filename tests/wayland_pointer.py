"""A virtual pointer on a headless wlroots seat, for clicking as a person would.

A headless sway has no pointer: ``swaymsg seat - cursor …`` answers "success" and reaches no
client. A ``zwlr_virtual_pointer_manager_v1`` client gives the seat a pointer and moves and
clicks it itself (absolute motion over the output, button press and release, each ended by a
``frame``), so clicks land on waybar's tray icon or on a window's button like real ones.
"""

from __future__ import annotations

import struct
import time
from pathlib import Path

from tray_app.ui.wayland_wire import Connection, pack_uint

MANAGER = "zwlr_virtual_pointer_manager_v1"
BUTTON_LEFT = 0x110  # BTN_LEFT in linux/input-event-codes.h
BUTTON_RIGHT = 0x111
_MOTION_ABSOLUTE, _BUTTON, _FRAME = 1, 2, 4


class VirtualPointer:
    def __init__(self, socket: Path, width: int, height: int) -> None:
        self._connection = Connection(socket)
        self._size = (width, height)
        manager = self._connection.bind(MANAGER, 1)
        self._pointer = self._connection.new_id()
        # create_virtual_pointer(seat: null for the default seat, id)
        self._connection.request(manager, 0, pack_uint(0) + pack_uint(self._pointer))
        self._connection.roundtrip()

    def _now(self) -> int:
        return int(time.monotonic() * 1000) & 0xFFFFFFFF

    def move(self, x: int, y: int) -> None:
        width, height = self._size
        payload = struct.pack("=IIIII", self._now(), x, y, width, height)
        self._connection.request(self._pointer, _MOTION_ABSOLUTE, payload)
        self._connection.request(self._pointer, _FRAME)
        self._connection.roundtrip()

    def click(self, x: int, y: int, button: int = BUTTON_LEFT) -> None:
        self.move(x, y)
        for state in (1, 0):  # pressed, released
            payload = struct.pack("=III", self._now(), button, state)
            self._connection.request(self._pointer, _BUTTON, payload)
            self._connection.request(self._pointer, _FRAME)
            self._connection.roundtrip()
            time.sleep(0.05)

    def close(self) -> None:
        self._connection.close()
