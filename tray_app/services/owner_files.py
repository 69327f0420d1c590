"""Where the owner of the session lives: a private directory, a lock file and a socket in it.

The directory is ``$XDG_RUNTIME_DIR/clickatell-session-tray`` when the runtime directory is
usable (this user's, mode 0700), else ``<tmp>/clickatell-session-tray-<uid>``. Either way it
is checked with ``lstat`` before any use: it must be a real directory (not a symbolic link),
owned by this user, with no access for anyone else. In a shared ``/tmp`` another user can
create that name first; the app then refuses to use it and says exactly what is wrong and
how to mend it, rather than trusting anything inside.

Ownership is decided by an exclusive ``flock`` on ``<name>.lock`` in that directory, held for
the owner's whole life and released by the kernel when it exits (even on SIGKILL). Who
*answers* on the socket decides nothing: a wedged owner (out of file descriptors, say) still
holds its lock, so a second launch cannot replace it.

``name`` is ``owner`` for the real app and ``demo`` for ``--demo``, so a demo runs beside it.

All of this needs POSIX (``flock``, Unix users, Unix sockets). Where those are missing
(Windows) :func:`checked_dir` says so as an :class:`UnsafeDirectory`, so the tray and the
command line print one line instead of failing at import.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

try:
    import fcntl
    import pwd
except ImportError:  # Windows
    POSIX = False
else:
    POSIX = True

log = logging.getLogger(__name__)

DIR_NAME = "clickatell-session-tray"
SOCKET_PATH_MAX = 104
"""A Unix socket path must fit sockaddr_un (108 bytes on Linux, 104 on macOS)."""


class UnsafeDirectory(Exception):
    """The owner's directory cannot be trusted; the message says why and what to do."""


def owner_name(demo: bool = False) -> str:
    return "demo" if demo else "owner"


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _private_problem(path: Path, info: os.stat_result) -> str | None:
    """Why ``path`` (as ``lstat`` saw it) is not a directory for this user alone, or None."""
    if stat.S_ISLNK(info.st_mode):
        return f"{path} is a symbolic link, not a directory; remove it"
    if not stat.S_ISDIR(info.st_mode):
        return f"{path} is not a directory; remove it"
    if info.st_uid != os.geteuid():
        owner = _user_name(info.st_uid)
        return (
            f"{path} belongs to {owner}, not to you ({_user_name(os.geteuid())}): another user "
            "created it, maybe to intercept the app; have it removed, or set XDG_RUNTIME_DIR "
            "to a private directory"
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        return f"{path} is open to other users (mode {mode:04o}); run: chmod 700 {path}"
    return None


def _usable_runtime_dir() -> Path | None:
    """``$XDG_RUNTIME_DIR`` if set and private to this user; else None (with a log line)."""
    value = os.environ.get("XDG_RUNTIME_DIR")
    if not value:
        return None
    path = Path(value)
    try:
        problem = _private_problem(path, path.lstat())
    except OSError as exc:
        problem = f"{path}: {exc.strerror}"
    if problem:
        log.warning("not using XDG_RUNTIME_DIR: %s", problem)
        return None
    return path


def owner_dir() -> Path:
    """The private directory for the owner's lock and socket (not created here)."""
    runtime = _usable_runtime_dir()
    if runtime is not None:
        candidate = runtime / DIR_NAME
        if len(str(candidate / "owner.sock").encode()) < SOCKET_PATH_MAX:
            return candidate
    import tempfile  # only for this fallback: tempfile costs milliseconds before the icon

    return Path(tempfile.gettempdir()) / f"{DIR_NAME}-{os.geteuid()}"


def checked_dir(*, create: bool) -> Path | None:
    """The owner directory after the ``lstat`` checks; None if it does not exist (and
    ``create`` is false). UnsafeDirectory if it may not be trusted."""
    if not POSIX:
        raise UnsafeDirectory(
            "this system has no flock and no Unix sockets, which the single-owner lock and "
            "the control socket need; the app runs on Linux and macOS"
        )
    path = owner_dir()
    if create:
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=0o700)
    try:
        info = path.lstat()
    except FileNotFoundError:
        if create:
            raise UnsafeDirectory(f"{path} vanished while it was being created") from None
        return None
    except OSError as exc:
        raise UnsafeDirectory(f"cannot use {path}: {exc.strerror}") from None
    problem = _private_problem(path, info)
    if problem:
        raise UnsafeDirectory(problem)
    return path


def socket_path(directory: Path, name: str) -> Path:
    return directory / f"{name}.sock"


class OwnerLock:
    """The exclusive lock that makes one process the owner; held until :meth:`release`."""

    def __init__(self, directory: Path, name: str) -> None:
        self.path = directory / f"{name}.lock"
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> bool:
        """True if this process is now the owner; False if another process holds the lock."""
        if self._fd is not None:
            return True
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(self.path, flags, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def taken(self) -> bool:
        """Whether another process holds the lock now; probed without writing the file."""
        if self._fd is not None:
            return False
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # closing drops the probe's own shared lock at once
        return False

    def holder(self) -> int | None:
        """The pid the current owner wrote into the lock file, if it can be read."""
        try:
            text = self.path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return int(text) if text.isdigit() else None

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
