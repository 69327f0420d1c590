"""A minimal Wayland client connection: the wire format over the compositor's Unix socket.

Just enough of the protocol for the clipboard (and the tests' virtual pointer): the display,
the registry, callbacks for round trips, requests with string, integer, object and new-id
arguments, and file descriptors passed beside the bytes (``SCM_RIGHTS``). Events arrive as
(object id, opcode, payload) with the file descriptors that came with them; the protocol
module that made an object knows how to read its events. Standard library only: X11 users get
no new dependency, and the app decides itself when to read and when to write (no thread
of a binding's own, no hidden event queue).

Wire format (wayland.freedesktop.org, "Wire Format"): each message is the object id (u32),
then the size in bytes (upper 16 bits) and the opcode (lower 16 bits) of a u32, then the
arguments, each a multiple of 4 bytes: integers as host-endian 32 bits, a string as its length
with the closing NUL, the bytes, the NUL and padding; a new id with no fixed interface as
interface name, version and id.
"""

from __future__ import annotations

import array
import os
import select
import socket
import struct
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

DISPLAY_ID = 1
MAX_FDS = 28
READ_SIZE = 4096

Handler = Callable[[int, bytes, deque[int]], None]
"""An object's event handler: opcode, payload, the connection's queue of received fds."""


class WaylandError(Exception):
    """The compositor could not be reached, or closed the connection, or reported an error."""


def socket_path(env: dict[str, str] | None = None) -> Path | None:
    """Where the compositor listens, from WAYLAND_DISPLAY and XDG_RUNTIME_DIR; None if unset."""
    env = dict(os.environ) if env is None else env
    display = env.get("WAYLAND_DISPLAY")
    if not display:
        return None
    if display.startswith("/"):
        return Path(display)
    runtime = env.get("XDG_RUNTIME_DIR")
    return Path(runtime) / display if runtime else None


def pack_uint(value: int) -> bytes:
    return struct.pack("=I", value)


def pack_string(text: str) -> bytes:
    data = text.encode() + b"\0"
    return struct.pack("=I", len(data)) + data + b"\0" * (-len(data) % 4)


def read_uint(payload: bytes, offset: int = 0) -> tuple[int, int]:
    return struct.unpack_from("=I", payload, offset)[0], offset + 4


def read_string(payload: bytes, offset: int = 0) -> tuple[str, int]:
    length, offset = read_uint(payload, offset)
    text = payload[offset : offset + max(length - 1, 0)].decode(errors="replace")
    return text, offset + length + (-length % 4)


class Connection:
    """One client connection: object ids, outgoing requests, incoming events, globals."""

    def __init__(self, path: Path, timeout: float = 2.0) -> None:
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        self._socket.settimeout(timeout)
        try:
            self._socket.connect(str(path))
        except OSError as exc:
            self._socket.close()
            raise WaylandError(f"cannot connect to {path}: {exc}") from exc
        self._socket.setblocking(False)
        self._next_id = DISPLAY_ID + 1
        self._handlers: dict[int, Handler] = {DISPLAY_ID: self._display_event}
        self._buffer = b""
        self._fds: deque[int] = deque()
        self._done: set[int] = set()
        self.closed = False
        self.globals: dict[str, tuple[int, int]] = {}
        """Interface name → (global name, version), as the registry announced them."""
        registry = self.new_id(self._registry_event)
        self.request(DISPLAY_ID, 1, pack_uint(registry))
        self.registry = registry
        self.roundtrip(timeout)

    def fileno(self) -> int:
        return self._socket.fileno()

    def new_id(self, handler: Handler | None = None) -> int:
        """A fresh client-side object id, its events going to ``handler``."""
        object_id = self._next_id
        self._next_id += 1
        self._handlers[object_id] = handler or _ignore
        return object_id

    def handle(self, object_id: int, handler: Handler) -> None:
        """Route the events of an object the server created (a new id in an event)."""
        self._handlers[object_id] = handler

    def forget(self, object_id: int) -> None:
        self._handlers.pop(object_id, None)

    def request(
        self, object_id: int, opcode: int, payload: bytes = b"", fds: Sequence[int] = ()
    ) -> None:
        """Send one request; ``fds`` travel beside it."""
        if self.closed:
            raise WaylandError("the connection to the compositor is closed")
        header = struct.pack("=II", object_id, ((8 + len(payload)) << 16) | opcode)
        ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
        data = header + payload
        self._socket.setblocking(True)
        try:
            sent = self._socket.sendmsg([data], ancillary)
            if sent < len(data):
                self._socket.sendall(data[sent:])
        except OSError as exc:
            self._close()
            raise WaylandError(f"the compositor went away: {exc}") from exc
        finally:
            if not self.closed:
                self._socket.setblocking(False)

    def bind(self, interface: str, version: int, handler: Handler | None = None) -> int:
        """Bind the global ``interface`` at ``version`` (at most what was announced)."""
        name, announced = self.globals[interface]
        object_id = self.new_id(handler)
        payload = pack_uint(name) + pack_string(interface)
        payload += pack_uint(min(version, announced)) + pack_uint(object_id)
        self.request(self.registry, 0, payload)
        return object_id

    def roundtrip(self, timeout: float = 2.0) -> None:
        """Wait until the compositor has handled everything sent so far (``wl_display.sync``)."""
        callback = self.new_id(lambda _op, _payload, _fds: self._done.add(callback))
        self.request(DISPLAY_ID, 0, pack_uint(callback))
        self.dispatch_until(lambda: callback in self._done, timeout)
        self._done.discard(callback)
        self.forget(callback)

    def dispatch_until(
        self, condition: Callable[[], bool], timeout: float, also: Sequence[int] = ()
    ) -> list[int]:
        """Read and handle events until ``condition()``; returns the ``also`` fds found ready.

        Raises WaylandError on timeout. With ``also``, returns as soon as one of those fds is
        readable, so a caller can serve the compositor and read its own pipe in one loop.
        """
        deadline = time.monotonic() + timeout
        while not condition():
            left = deadline - time.monotonic()
            if left <= 0:
                raise WaylandError("the compositor did not answer in time")
            own = self._socket.fileno()
            ready, _, _ = select.select([own, *also], [], [], left)
            if own in ready:
                self.dispatch()
            others = [fd for fd in ready if fd != own]
            if others:
                return others
        return []

    def dispatch(self) -> None:
        """Handle every event that can be read now; never blocks."""
        while not self.closed:
            try:
                data, ancillary, _flags, _addr = self._socket.recvmsg(
                    READ_SIZE, socket.CMSG_SPACE(MAX_FDS * 4)
                )
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                self._close()
                raise WaylandError(f"the compositor went away: {exc}") from exc
            for level, kind, fd_bytes in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds = array.array("i")
                    fds.frombytes(fd_bytes[: len(fd_bytes) - len(fd_bytes) % fds.itemsize])
                    self._fds.extend(fds)
            if not data:
                self._close()
                raise WaylandError("the compositor closed the connection")
            self._buffer += data
            self._handle_buffered()

    def _handle_buffered(self) -> None:
        while len(self._buffer) >= 8:
            object_id, word = struct.unpack_from("=II", self._buffer)
            size, opcode = word >> 16, word & 0xFFFF
            if size < 8 or len(self._buffer) < size:
                return
            payload, self._buffer = self._buffer[8:size], self._buffer[size:]
            self._handlers.get(object_id, _ignore)(opcode, payload, self._fds)

    def _display_event(self, opcode: int, payload: bytes, _fds: deque[int]) -> None:
        if opcode == 0:  # error(object, code, message)
            object_id, offset = read_uint(payload)
            code, offset = read_uint(payload, offset)
            message, _ = read_string(payload, offset)
            self._close()
            raise WaylandError(f"protocol error on object {object_id}, code {code}: {message}")
        if opcode == 1:  # delete_id(id)
            self.forget(read_uint(payload)[0])

    def _registry_event(self, opcode: int, payload: bytes, _fds: deque[int]) -> None:
        if opcode == 0:  # global(name, interface, version)
            name, offset = read_uint(payload)
            interface, offset = read_string(payload, offset)
            version, _ = read_uint(payload, offset)
            self.globals.setdefault(interface, (name, version))

    def _close(self) -> None:
        self.closed = True
        while self._fds:
            os.close(self._fds.popleft())
        self._socket.close()

    def close(self) -> None:
        if not self.closed:
            self._close()


def _ignore(_opcode: int, _payload: bytes, _fds: deque[int]) -> None:
    """Events nobody reads (a seat's name, its capabilities)."""
