"""Asking the owner of the session: a plain ``AF_UNIX`` client, no Qt.

The directory is checked as the owner checks it (:mod:`tray_app.services.owner_files`), and
the process on the other end must be this same user (``SO_PEERCRED``), so an answer can
only come from this user's own owner. "No owner" means the lock is free: nothing keeps the
session alive and the caller may do the work itself.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from dataclasses import dataclass
from typing import Any

from tray_app.core.control import CLIENT_TIMEOUT, MAX_ANSWER_BYTES, decode_answer, encode_request
from tray_app.services.owner_files import OwnerLock, checked_dir, owner_name, socket_path

CONNECT_RETRY_SECONDS = 3.0
"""An owner that has just taken its lock may need a moment before it listens."""


class OwnerUnreachable(Exception):
    """An owner holds the lock but no usable answer came; the message says what happened."""


@dataclass(frozen=True, slots=True)
class Owner:
    """Where this user's owner listens, and the pid that holds its lock."""

    path: str
    pid: int | None


def peer_uid(sock: socket.socket) -> int | None:
    """The user ID of the process on the other end, where the platform tells (Linux)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    size = struct.calcsize("3i")
    _pid, uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, option, size))
    return int(uid)


def find_owner(*, demo: bool = False) -> Owner | None:
    """The running owner, or None when nobody holds the lock. UnsafeDirectory if the
    directory may not be trusted."""
    directory = checked_dir(create=False)
    if directory is None:
        return None
    name = owner_name(demo)
    lock = OwnerLock(directory, name)
    if not lock.taken():
        return None
    return Owner(str(socket_path(directory, name)), lock.holder())


def ask(
    owner: Owner, op: str, fields: dict[str, str] | None = None, *, timeout: float = CLIENT_TIMEOUT
) -> dict[str, Any]:
    """Send one request and return the owner's answer; OwnerUnreachable if none comes."""
    line = encode_request(op, **(fields or {}))
    with _connect(owner) as sock:
        uid = peer_uid(sock)
        if uid is not None and uid != os.geteuid():
            raise OwnerUnreachable(f"the process on {owner.path} is not yours (uid {uid})")
        sock.settimeout(timeout)
        try:
            sock.sendall(line)
            answer = _read_line(sock)
        except TimeoutError:
            raise OwnerUnreachable(f"no answer from the owner within {timeout:g} s") from None
        except OSError as exc:
            raise OwnerUnreachable(f"the owner hung up: {exc.strerror or exc}") from None
    if not answer:
        raise OwnerUnreachable("the owner closed the connection without an answer")
    try:
        return decode_answer(answer)
    except ValueError as exc:
        raise OwnerUnreachable(str(exc)) from None


def _connect(owner: Owner) -> socket.socket:
    deadline = time.monotonic() + CONNECT_RETRY_SECONDS
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(CONNECT_RETRY_SECONDS)
        try:
            sock.connect(owner.path)
            return sock
        except OSError as exc:
            sock.close()
            if time.monotonic() >= deadline:
                who = f" (pid {owner.pid})" if owner.pid else ""
                raise OwnerUnreachable(
                    f"the running owner{who} does not answer on {owner.path}: {exc.strerror or exc}"
                ) from None
            time.sleep(0.1)


def _read_line(sock: socket.socket) -> bytes:
    data = b""
    while b"\n" not in data:
        chunk = sock.recv(MAX_ANSWER_BYTES + 1 - len(data))
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_ANSWER_BYTES:
            raise OwnerUnreachable("the owner's answer is over the size limit")
    return data.split(b"\n", 1)[0]
