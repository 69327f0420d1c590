"""Settings that are not secret, in QSettings (native on every platform), typed and validated.

A stored value that is missing, of the wrong type, out of range or hand-edited into garbage
reads as its default: the app must start whatever is in the file. Each bad key is logged once
per run, not on every read. Setters are strict and raise ValueError, so a bug or a bad dialog
input is caught where it happens instead of being written to disk.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Generic, TypeVar

from PySide6.QtCore import QSettings

from tray_app.core.plan_terms import MAX_INTERVAL_MINUTES, MIN_INTERVAL_MINUTES
from tray_app.core.protocol import DEFAULT_BASE_URL, validate_base_url
from tray_app.core.redact import mask_text

ORGANIZATION = "clickatell-session-tray"
APPLICATION = "clickatell-session-tray"
ICON_THEMES = ("auto", "light", "dark")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

log = logging.getLogger(__name__)

T = TypeVar("T")

_INTEGER = re.compile(r"[+-]?\d+")
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")
# (settings file, key) already reported as invalid in this run.
_reported: set[tuple[str, str]] = set()


def _strict_int(name: str, low: int, high: int) -> Callable[[object], int]:
    def check(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
        return value

    return check


def _stored_int(raw: object) -> object:
    """Stored ints come back as strings from ini files and as ints from native stores."""
    if isinstance(raw, str) and _INTEGER.fullmatch(raw.strip()):
        return int(raw)
    return raw


def _strict_bool(name: str) -> Callable[[object], bool]:
    def check(value: object) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false, got {value!r}")
        return value

    return check


def _stored_bool(raw: object) -> object:
    if isinstance(raw, str):
        word = raw.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    return raw


def _strict_choice(name: str, choices: tuple[str, ...]) -> Callable[[object], str]:
    """Case does not matter; the value is kept in the case of ``choices``."""
    by_folded = {choice.casefold(): choice for choice in choices}

    def check(value: object) -> str:
        if isinstance(value, str) and value.strip().casefold() in by_folded:
            return by_folded[value.strip().casefold()]
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")

    return check


def _check_base_url(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"base_url must be text, got a {type(value).__name__}")
    return validate_base_url(value)


class _Setting(Generic[T]):
    """One typed key: reads fall back to the default, writes are validated."""

    def __init__(
        self,
        default: T,
        check: Callable[[object], T],
        from_stored: Callable[[object], object] = lambda raw: raw,
    ) -> None:
        self._default = default
        self._check = check
        self._from_stored = from_stored
        self._key = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._key = name

    def __get__(self, settings: Settings, owner: type | None = None) -> T:
        raw = settings._qsettings.value(self._key)
        if raw is None:
            return self._default
        try:
            return self._check(self._from_stored(raw))
        except ValueError as exc:
            settings._report(self._key, str(exc), self._default)
            return self._default

    def __set__(self, settings: Settings, value: T) -> None:
        settings._store(self._key, self._check(value))

    @property
    def default(self) -> T:
        return self._default

    def check(self, value: object) -> T:
        """The value as it would be stored; ValueError with a clear message if it may not be."""
        return self._check(value)


class Settings:
    """Typed, validated view of the app's QSettings; never raises on what it finds stored."""

    base_url = _Setting(DEFAULT_BASE_URL, _check_base_url)
    ping_interval_minutes = _Setting(
        10,
        _strict_int("ping_interval_minutes", MIN_INTERVAL_MINUTES, MAX_INTERVAL_MINUTES),
        _stored_int,
    )
    notifications = _Setting(True, _strict_bool("notifications"), _stored_bool)
    # 0 means never: the copied session ID stays on the clipboard.
    clipboard_clear_seconds = _Setting(
        0, _strict_int("clipboard_clear_seconds", 0, 3600), _stored_int
    )
    start_at_login = _Setting(False, _strict_bool("start_at_login"), _stored_bool)
    # Serve the local API proxy inside the tray (the demo starts with it on).
    local_proxy = _Setting(False, _strict_bool("local_proxy"), _stored_bool)
    icon_theme = _Setting("auto", _strict_choice("icon_theme", ICON_THEMES))
    log_level = _Setting("INFO", _strict_choice("log_level", LOG_LEVELS))

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self._qsettings = (
            qsettings if qsettings is not None else QSettings(ORGANIZATION, APPLICATION)
        )

    @property
    def file_name(self) -> str:
        """Where the settings live, for the log and the settings dialog."""
        return self._qsettings.fileName()

    @classmethod
    def defaults(cls) -> dict[str, object]:
        return {name: field.default for name, field in cls._fields().items()}

    def update(self, **values: object) -> None:
        """Check every value first, then write them all: a form never half-applies."""
        fields = self._fields()
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise ValueError(f"unknown setting: {', '.join(unknown)}")
        checked = {name: fields[name].check(value) for name, value in values.items()}
        for name, value in checked.items():
            self._store(name, value)

    @classmethod
    def _fields(cls) -> dict[str, _Setting[object]]:
        found: dict[str, _Setting[object]] = {}
        for klass in reversed(cls.__mro__):
            found.update(
                (name, attr) for name, attr in vars(klass).items() if isinstance(attr, _Setting)
            )
        return found

    def _store(self, key: str, value: object) -> None:
        if value is None:
            self._qsettings.remove(key)
        else:
            self._qsettings.setValue(key, value)
        self._qsettings.sync()
        if self._qsettings.status() != QSettings.Status.NoError:
            log.warning(
                "Could not write %s (%s); the change holds for this run only",
                self.file_name,
                self._qsettings.status().name,
            )

    def _report(self, key: str, reason: str, default: object) -> None:
        if (self.file_name, key) in _reported:
            return
        _reported.add((self.file_name, key))
        log.warning(
            "Ignoring the stored value of %s in %s: %s; using the default %r",
            key,
            self.file_name,
            mask_text(reason),
            default,
        )
