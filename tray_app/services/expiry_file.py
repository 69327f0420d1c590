"""When the stored session dies, kept in a small file of the user's state folder: no secret.

After every ping the owner records the session's new expiry. It used to be a field of the
keyring entry, and each write was a Secret Service round trip (a new D-Bus connection, the
write and a read-back, each on a thread of its own): some thirty wake-ups of the process per
ping. The expiry is not a secret, so it lives in ``session-expiry.json`` in the platform's
per-user state folder (``~/.local/state/clickatell-session-tray/`` on Linux), and the keyring
is written only when what it holds changes (see :mod:`tray_app.services.credentials`).

The file holds ``{"session": <fingerprint>, "expires_at": <epoch seconds>}``. The fingerprint,
the first 16 hex digits of the ID's SHA-256, ties the expiry to the ID the keyring holds
without storing the ID: a random 128-bit ID cannot be recovered from it, and an expiry left
by an earlier session is never shown for a later one.

A new session's record is written atomically (a file beside it, then ``os.replace``); the
pings that follow overwrite the same bytes of that same file in place (one ``pwrite`` of a
record of fixed width, so the file's size never changes). Replacing the file at every ping
made the process wait for the disk: the new inode, and the old one's blocks freed (a
synchronous discard where the file system is mounted with it), one or two blocking waits per
ping seen with ``perf`` on the scheduler's switches. A file that is no longer the one this
process wrote (another inode, another size, a link) is replaced as a new record is. Nothing
is synced: after a power cut the worst case is an expiry that ``status`` calls unknown. A
file that cannot be read (corrupt, not ours) or written (a full disk, a read-only folder)
costs one warning line, and the expiry counts as unknown; the keyring, the session and the
owner's own countdown are untouched. A failed write removes the old file when it can, so
that no stale expiry is shown.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import math
import os
from pathlib import Path

log = logging.getLogger(__name__)

APP_DIR = "clickatell-session-tray"
FILE_NAME = "session-expiry.json"
MAX_BYTES = 4096
"""Far more than the two fields need; a longer file is not ours and is not parsed."""


def default_path() -> Path:
    import platformdirs

    return platformdirs.user_state_path(APP_DIR, appauthor=False) / FILE_NAME


def fingerprint(session_id: str) -> str:
    """Which session an expiry belongs to, without the ID itself."""
    return hashlib.sha256(session_id.encode()).hexdigest()[:16]


class ExpiryFile:
    """Reads and writes the one expiry file; never raises, warns once per kind of trouble."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._written: tuple[str, int, int] | None = None
        """The fingerprint, device and inode of the record this process last wrote."""
        self._write_failing = False
        self._warned_unreadable = False

    @property
    def path(self) -> Path:
        """Resolved at first use, so that the environment of that moment decides."""
        if self._path is None:
            self._path = default_path()
        return self._path

    def read(self, session_id: str) -> float | None:
        """The expiry recorded for ``session_id``; None when none is (or it cannot be read)."""
        try:
            with self.path.open("rb") as file:
                raw = file.read(MAX_BYTES + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._unreadable(exc.strerror or str(exc))
            return None
        try:
            session, expires_at = _parse(raw)
        except ValueError as exc:
            self._unreadable(str(exc))
            return None
        return expires_at if session == fingerprint(session_id) else None

    def write(self, session_id: str, expires_at: float) -> None:
        """Record ``expires_at`` for ``session_id``: in place over this session's record, or
        as a new file replacing the old in one step."""
        session = fingerprint(session_id)
        payload = _record(session, expires_at)
        try:
            if not self._overwrite(session, payload):
                self._replace(session, payload)
        except OSError as exc:
            self._written = None
            self._write_failed(exc)
            return
        if self._write_failing:
            self._write_failing = False
            log.info("the session's expiry is recorded in %s again", self.path)

    def _overwrite(self, session: str, payload: bytes) -> bool:
        """Rewrite the record this process wrote for ``session``, if the file is still it."""
        if self._written is None or self._written[0] != session:
            return False
        try:
            # Not blocking: whatever took the file's place (a FIFO) must not hold the keeper.
            descriptor = os.open(self.path, os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return False  # gone, or a link, or not for writing: a new record replaces it
        try:
            status = os.fstat(descriptor)
            same_file = (status.st_dev, status.st_ino) == self._written[1:]
            if not same_file or status.st_size != len(payload):
                return False
            if os.pwrite(descriptor, payload, 0) != len(payload):
                raise OSError(errno.EIO, "short write")
            return True
        finally:
            os.close(descriptor)

    def _replace(self, session: str, payload: bytes) -> None:
        path = self.path
        spare = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            descriptor = os.open(
                spare, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600
            )
            with os.fdopen(descriptor, "wb") as file:
                file.write(payload)
                status = os.fstat(file.fileno())
            os.replace(spare, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(spare)
            raise
        self._written = (session, status.st_dev, status.st_ino)

    def remove(self) -> None:
        """No expiry is known (the session was forgotten): nothing stays to be misread."""
        self._written = None
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            self._write_failed(exc)

    def _write_failed(self, exc: OSError) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()
        if not self._write_failing:
            self._write_failing = True
            log.warning(
                "Cannot record the session's expiry in %s (%s); without the app running, "
                "`clickatell-tray status` will not know when the session ends",
                self.path,
                exc.strerror or exc,
            )

    def _unreadable(self, why: str) -> None:
        if not self._warned_unreadable:
            self._warned_unreadable = True
            log.warning(
                "Ignoring %s (%s): the session's expiry counts as unknown until the next ping",
                self.path,
                why,
            )


def _record(session: str, expires_at: float) -> bytes:
    """The JSON record, of one width for every expiry of this era (milliseconds kept), so
    that a ping's record overwrites the last one byte for byte."""
    return b'{"session": "%s", "expires_at": %.3f}' % (session.encode("ascii"), expires_at)


def _parse(raw: bytes) -> tuple[str, float]:
    """The fingerprint and the expiry; ValueError (which never quotes the file) otherwise."""
    if len(raw) > MAX_BYTES:
        raise ValueError(f"longer than {MAX_BYTES} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise ValueError("not valid JSON") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    session, expires_at = data.get("session"), data.get("expires_at")
    if not isinstance(session, str) or isinstance(expires_at, bool):
        raise ValueError("no session fingerprint")
    if not isinstance(expires_at, int | float) or not math.isfinite(expires_at) or expires_at < 0:
        raise ValueError("no valid expiry")
    return session, float(expires_at)
