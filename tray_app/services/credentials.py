"""Secrets in the OS keyring, with an in-memory fallback for this run and never a plaintext file.

Everything secret lives in ONE keyring entry (service ``clickatell-session-tray``, user
``session``) holding a JSON object ``{api_id, user, password, session_id}``: macOS asks to unlock
once per entry, so one entry means one prompt. When the stored session dies unless used is no
secret: it goes to :mod:`tray_app.services.expiry_file`, written after every ping, while the
keyring is written only when what it holds changes (a new ID, none, other credentials). Only
the owner of the session records either, through :mod:`tray_app.services.exchange`. An entry
written before the expiry had its own file may still carry ``expires_at``; it is read as a
last resort and dropped at the next write.

The keyring is slow to import and an unlock prompt can block forever, so ``keyring`` is imported
lazily and every call runs on a daemon thread that the caller waits for at most ``timeout``
seconds. When the keyring is missing, refuses, is locked, or does not answer, the store keeps
what it was given in memory for the rest of the run, says why in ``problem``, logs one warning
and never raises to its callers. A call that timed out may still finish later in the background;
the store ignores it and does not touch the keyring again in this run.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from tray_app.core.os_threads import NamedThread
from tray_app.core.redact import mask_text
from tray_app.services.expiry_file import ExpiryFile
from tray_app.services.keyring_entry import CREDENTIAL_FIELDS, SESSION_FIELDS, epoch, parse

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

SERVICE = "clickatell-session-tray"
ENTRY = "session"

_THIS_RUN_ONLY = "your credentials are kept for this run only."
_NO_KEYRING = f"No system keyring is available (install gnome-keyring or KWallet); {_THIS_RUN_ONLY}"

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Credentials:
    """What ``auth`` needs; the password stays out of ``repr`` so it cannot reach a log."""

    api_id: str
    user: str
    password: str = field(repr=False)


class KeyringUnavailable(Exception):
    """Why the keyring cannot be used, as one plain sentence that can be shown to the user."""


class CredentialStore:
    """Credentials and the live session ID in one keyring entry, or in memory when it must."""

    def __init__(
        self,
        *,
        service: str = SERVICE,
        memory_only: bool = False,
        timeout: float = 10.0,
        expiry_file: ExpiryFile | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout!r}")
        self._service = service
        self._timeout = timeout
        self._lock = threading.Lock()
        self._backend: KeyringBackend | None = None
        # The last entry read or written; the only copy once the store is memory-only.
        self._entry: dict[str, str] = {}
        self._mirrored = False
        """Whether ``_entry`` is what the keyring holds (this store read or wrote it)."""
        self._expiry_file = expiry_file or ExpiryFile()
        self._expiry: tuple[str, float] | None = None
        """The last expiry this store recorded or read, with its session ID."""
        self._persistent = not memory_only
        self._problem: str | None = (
            f"The system keyring is not used in this mode; {_THIS_RUN_ONLY}"
            if memory_only
            else None
        )

    @property
    def persistent(self) -> bool:
        """False when secrets live in memory only, by choice or because the keyring failed."""
        return self._persistent

    @property
    def problem(self) -> str | None:
        """A plain-language reason why secrets live in memory only, or None while they do not."""
        return self._problem

    def load(self) -> Credentials | None:
        with self._lock:
            entry = self._read()
        if not all(name in entry for name in CREDENTIAL_FIELDS):
            return None
        return Credentials(entry["api_id"], entry["user"], entry["password"])

    def save(self, credentials: Credentials) -> None:
        """Store the credentials; a saved session ID is kept only if the account is the same."""
        with self._lock:
            entry = self._read()
            if (entry.get("api_id"), entry.get("user")) != (credentials.api_id, credentials.user):
                for name in SESSION_FIELDS:
                    entry.pop(name, None)
                self._record_expiry(None, None)
            entry.update(
                api_id=credentials.api_id, user=credentials.user, password=credentials.password
            )
            self._write(entry)

    def load_session_id(self) -> str | None:
        return self.load_session()[0]

    def load_session(self) -> tuple[str | None, float | None]:
        """The stored session ID and when it dies (None: unknown), read in one keyring call."""
        with self._lock:
            entry = self._read()
            session_id = entry.get("session_id")
            if not session_id:
                return None, None
            if self._expiry is not None and self._expiry[0] == session_id:
                return session_id, self._expiry[1]
            expires_at = self._expiry_file.read(session_id) if self._persistent else None
        if expires_at is None:
            expires_at = epoch(entry.get("expires_at"))  # an entry from before the expiry file
        return session_id, expires_at

    def save_session_id(self, session_id: str | None) -> None:
        """Remember the live session ID so a restart can ping it; None or "" forgets it."""
        self.save_session(session_id, None)

    def save_session(
        self, session_id: str | None, expires_at: float | None, *, at_once: bool = False
    ) -> bool:
        """Remember the live session ID and its expiry (None: unknown); no ID forgets both.

        The keyring is written only when the entry changes: a ping that keeps the ID (the
        owner's every ten minutes) writes the expiry file alone, with no keyring call at all.
        ``at_once``: only then, and only if no other call holds the store; else nothing is
        done and the answer is False (the caller queues it for a worker instead).
        """
        if not self._lock.acquire(blocking=not at_once):
            return False
        try:
            mirrored = self._mirrored or not self._persistent
            if at_once and not mirrored:
                return False
            entry = dict(self._entry) if mirrored else self._read()
            kept = {name: value for name, value in entry.items() if name not in SESSION_FIELDS}
            if session_id:
                kept["session_id"] = session_id
            if kept != entry:
                if at_once:
                    return False
                self._write(kept)
            self._record_expiry(session_id or None, expires_at)
            return True
        finally:
            self._lock.release()

    def clear(self) -> None:
        """Forget everything (sign out); nothing stored is fine."""
        with self._lock:
            self._write({})
            self._record_expiry(None, None)

    def _record_expiry(self, session_id: str | None, expires_at: float | None) -> None:
        """In memory, and in the expiry file while the keyring holds the session."""
        if session_id is None or expires_at is None:
            self._expiry = None
            if self._persistent:
                self._expiry_file.remove()
            return
        self._expiry = (session_id, float(expires_at))
        if self._persistent:
            self._expiry_file.write(session_id, float(expires_at))

    def _read(self) -> dict[str, str]:
        if self._persistent:
            try:
                self._entry = self._call(self._fetch)
                self._mirrored = True
            except KeyringUnavailable as exc:
                self._fall_back(exc)
        return dict(self._entry)

    def _write(self, entry: dict[str, str]) -> None:
        self._entry = dict(entry)
        if self._persistent:
            try:
                self._call(lambda backend: self._store(backend, entry))
                self._mirrored = True
            except KeyringUnavailable as exc:
                self._fall_back(exc)

    def _fall_back(self, exc: KeyringUnavailable) -> None:
        self._persistent = False
        self._problem = str(exc)
        cause = exc.__cause__
        detail = "" if cause is None else f" ({type(cause).__name__}: {cause})"
        secrets = tuple(self._entry.get(name, "") for name in ("password", "session_id"))
        log.warning(
            "Keyring not used for the rest of this run: %s%s", exc, mask_text(detail, secrets)
        )

    def _fetch(self, backend: KeyringBackend) -> dict[str, str]:
        payload = backend.get_password(self._service, ENTRY)
        if payload is None:
            return {}
        try:
            return parse(payload)
        except ValueError as exc:
            log.warning(
                "The keyring entry %s/%s is unusable (%s); ignoring it", self._service, ENTRY, exc
            )
            return {}

    def _store(self, backend: KeyringBackend, entry: dict[str, str]) -> None:
        """Write or delete the entry, then read it back: some backends fail without a word."""
        from keyring.errors import PasswordDeleteError

        if entry:
            payload = json.dumps(entry, sort_keys=True, separators=(",", ":"))
            backend.set_password(self._service, ENTRY, payload)
            if backend.get_password(self._service, ENTRY) != payload:
                raise KeyringUnavailable(
                    f"The system keyring did not keep what was saved; {_THIS_RUN_ONLY}"
                )
            return
        with contextlib.suppress(PasswordDeleteError):  # Nothing stored; checked just below.
            backend.delete_password(self._service, ENTRY)
        if backend.get_password(self._service, ENTRY) is not None:
            raise KeyringUnavailable(
                "The system keyring would not remove the saved credentials; "
                "they are forgotten for this run only."
            )

    def _call(self, operation: Callable[[KeyringBackend], T]) -> T:
        """Run one keyring operation on a daemon thread, waiting at most ``timeout`` for it.

        A daemon thread rather than an executor: a call stuck on an unlock prompt must not keep
        the process alive at exit (executor threads are joined at interpreter shutdown).
        """
        done = threading.Event()
        results: list[T] = []
        errors: list[KeyringUnavailable] = []

        def work() -> None:
            try:
                results.append(operation(self._resolve()))
            except Exception as exc:
                errors.append(_explain(exc))
            finally:
                done.set()

        NamedThread(target=work, name="keyring-call", daemon=True).start()
        if not done.wait(self._timeout):
            raise KeyringUnavailable(
                f"The system keyring did not answer within {self._timeout:g} seconds "
                f"(it may be waiting to be unlocked); {_THIS_RUN_ONLY}"
            )
        if errors:
            raise errors[0]
        return results[0]

    def _resolve(self) -> KeyringBackend:
        if self._backend is None:
            self._backend = _choose(_platform_backend())
            log.info("Using keyring backend %s", type(self._backend).__qualname__)
        return self._backend


def _platform_backend() -> KeyringBackend:
    """keyring's backend for this machine, without loading every backend when the answer is known.

    ``keyring.get_keyring()`` imports every backend keyring ships and every plug-in registered
    through entry points, then keeps the viable one of highest priority: about 1 MiB and 40 ms
    more than loading the one it will pick. On Linux outside KDE that one is the Secret Service
    (KWallet outranks it only in a KDE session), so the store asks for it directly. keyring's
    own ways of choosing come first and make it keyring's call: a backend set in this process
    (``keyring.set_keyring``), ``PYTHON_KEYRING_BACKEND``, keyring's ``keyringrc.cfg``; so do
    other platforms, KDE, and a Secret Service that is not there (keyring then finds what else
    there is). A plug-in that would outrank the Secret Service is used once named in one of those.
    """
    import keyring
    import keyring.core
    from keyring.util import platform_

    chosen_by_keyring = (
        keyring.core._keyring_backend is not None  # set_keyring(), or an earlier detection
        or bool(os.environ.get("PYTHON_KEYRING_BACKEND"))
        or (platform_.config_root() / "keyringrc.cfg").exists()
        or not sys.platform.startswith("linux")
        or "KDE" in os.environ.get("XDG_CURRENT_DESKTOP", "").split(":")
    )
    if not chosen_by_keyring:
        from keyring.backends import SecretService

        try:
            SecretService.Keyring.priority  # noqa: B018 (raises when the service is not there)
        except Exception as exc:
            log.debug("no Secret Service (%s): keyring looks for another backend", exc)
        else:
            return SecretService.Keyring()
    return keyring.get_keyring()


def _choose(backend: KeyringBackend) -> KeyringBackend:
    """The backend to use, refusing the ones that store nothing or store plain text.

    keyring picks a ChainerBackend when keyrings.alt is installed; its members are filtered and
    the best remaining one is used directly, so a write can never fall through to a plain file.
    All of keyrings.alt is refused: its backends are the ones keyring itself calls not
    recommended, and the file ones keep passwords readable on disk.
    """
    from keyring.backends import chainer, fail, null

    candidates = backend.backends if isinstance(backend, chainer.ChainerBackend) else [backend]
    for candidate in candidates:
        if not isinstance(candidate, fail.Keyring | null.Keyring) and not _is_plaintext(candidate):
            return candidate
    if any(_is_plaintext(candidate) for candidate in candidates):
        raise KeyringUnavailable(
            "The only keyring available stores passwords in a plain file, which this app "
            f"refuses to use; {_THIS_RUN_ONLY}"
        )
    if any(isinstance(candidate, null.Keyring) for candidate in candidates):
        raise KeyringUnavailable(f"The system keyring is turned off for Python; {_THIS_RUN_ONLY}")
    raise KeyringUnavailable(_NO_KEYRING)


def _is_plaintext(backend: KeyringBackend) -> bool:
    """keyrings.alt: plain or weakly protected files, and other stores keyring does not trust."""
    return type(backend).__module__.startswith("keyrings.alt")


def _explain(exc: Exception) -> KeyringUnavailable:
    """Turn whatever a backend raised into a sentence the user can act on."""
    if isinstance(exc, KeyringUnavailable):
        return exc
    try:
        from keyring import errors
    except ImportError:
        message = f"The keyring library is not installed; {_THIS_RUN_ONLY}"
    else:
        if isinstance(exc, errors.NoKeyringError):
            message = _NO_KEYRING
        elif isinstance(exc, errors.KeyringLocked):
            message = (
                f"The system keyring is locked; unlock it and restart the app — {_THIS_RUN_ONLY}"
            )
        elif isinstance(exc, errors.InitError):
            message = (
                "The system keyring could not be opened (it may be locked, or its unlock "
                f"prompt was dismissed); {_THIS_RUN_ONLY}"
            )
        elif isinstance(exc, errors.KeyringError):
            message = f"The system keyring refused the request; {_THIS_RUN_ONLY}"
        else:
            message = f"The system keyring failed unexpectedly; {_THIS_RUN_ONLY}"
    unavailable = KeyringUnavailable(message)
    unavailable.__cause__ = exc
    return unavailable
