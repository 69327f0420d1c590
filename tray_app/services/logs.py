"""Logging to a rotating file in the user's log folder, with every secret masked.

Handlers go on the root logger so that library records (requests, keyring) land
in the same file. The secret filter sits on each handler rather than on a
logger: a logger's filters only see records logged to that very logger, not
those propagating up from its children.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path

import platformdirs

from tray_app.core.redact import SECRET_FILTER

LOG_DIR_NAME = "clickatell-session-tray"
LOG_FILE_NAME = "clickatell-tray.log"
MAX_BYTES = 1024 * 1024
BACKUP_COUNT = 3
LOG_FORMAT = "%(asctime)s %(levelname)-8s %(name)s: %(message)s"

# Our handlers are found again by name, so a second call replaces them instead of stacking.
FILE_HANDLER_NAME = "clickatell-tray-file"
CONSOLE_HANDLER_NAME = "clickatell-tray-console"


class _MaskingFormatter(logging.Formatter):
    """Masks the whole output, tracebacks included: exception texts may quote a response.

    The traceback text is cached on the record by whichever handler formats it
    first, so masking the finished line is the only place that catches it.
    """

    def format(self, record: logging.LogRecord) -> str:
        return _mask(super().format(record))


def _mask(text: str) -> str:
    """Run text through the shared filter, the one place that knows the registered secrets."""
    record = logging.makeLogRecord({"msg": text})
    SECRET_FILTER.filter(record)
    return str(record.msg)


class QuietRotatingFileHandler(logging.FileHandler):
    """A rotating file that, when it cannot be written (disk full, folder gone), says so once.

    The standard handler prints "--- Logging error ---" and a traceback for every record
    that fails, hundreds of lines a minute on a full disk. This one prints one line to
    stderr and stops writing the file for the rest of the run; the console handler, if any,
    carries on.

    It rotates by itself rather than through ``logging.handlers.RotatingFileHandler``: that
    module brings pickle, socket and queue handlers along, 0.7 MiB of a resident process
    that never uses them. The rule is the same: before a record that would take the file
    to ``max_bytes``, ``name`` becomes ``name.1``, ``name.1`` becomes ``name.2``, and so on up
    to ``backup_count``; the oldest goes.
    """

    def __init__(self, path: Path, *, max_bytes: int, backup_count: int) -> None:
        super().__init__(path, encoding="utf-8")
        self.max_bytes = max_bytes
        self.backup_count = backup_count

    broken = False

    def emit(self, record: logging.LogRecord) -> None:
        """Format once (the masking runs on every line), rotate if due, then write."""
        if self.broken:
            return
        try:
            line = self.format(record) + self.terminator
            if self._is_full_with(len(line.encode("utf-8", "replace"))):
                self._rotate()
            if self.stream is None:
                self.stream = self._open()
            self.stream.write(line)
            self.flush()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def _is_full_with(self, size_of_line: int) -> bool:
        if self.max_bytes <= 0:
            return False
        if self.stream is None:
            self.stream = self._open()
        size = self.stream.seek(0, os.SEEK_END)
        # Checked only when due: a log line costs no stat, and /dev/null is never rotated.
        return (
            size > 0 and size + size_of_line >= self.max_bytes and os.path.isfile(self.baseFilename)
        )

    def _rotate(self) -> None:
        self.close()
        base = self.baseFilename
        for number in range(self.backup_count - 1, 0, -1):
            if os.path.exists(f"{base}.{number}"):
                os.replace(f"{base}.{number}", f"{base}.{number + 1}")
        if self.backup_count > 0:
            os.replace(base, f"{base}.1")
        else:
            os.truncate(base, 0)
        self.stream = self._open()

    def handleError(self, record: logging.LogRecord) -> None:
        if self.broken:
            return
        self.broken = True
        error = sys.exc_info()[1]
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        if sys.stderr is not None:
            with contextlib.suppress(Exception):
                print(
                    f"clickatell-tray: cannot write the log file ({reason}); "
                    "the file log is off until the app restarts",
                    file=sys.stderr,
                    flush=True,
                )


def default_log_dir() -> Path:
    """The platform's per-user log folder (``~/.local/state/.../log`` on Linux)."""
    return platformdirs.user_log_path(LOG_DIR_NAME, appauthor=False)


def setup_logging(
    level: str = "INFO", *, console: bool = False, log_dir: Path | None = None
) -> Path:
    """Send all logging to a masked rotating file (and stderr if asked); return the file's path.

    Safe to call again, e.g. after the settings change the level: the previous
    handlers are closed and replaced, never duplicated.

    The console handler goes in first, so a log folder that cannot be created or written
    never costs it. Without a file and without a console, warnings still go to stderr
    through a masked handler, never through logging's unmasked last resort. The OSError
    is raised after that, for the caller to say in one line that the file log is off.
    """
    numeric = logging.getLevelNamesMapping().get(level.upper())
    if numeric is None:
        raise ValueError(f"unknown log level {level!r}")
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() in (FILE_HANDLER_NAME, CONSOLE_HANDLER_NAME):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(numeric)
    # A gui-script on Windows has no stderr at all (sys.stderr is None).
    has_console = console and sys.stderr is not None
    if has_console:
        _install(logging.StreamHandler(sys.stderr), CONSOLE_HANDLER_NAME)

    directory = log_dir if log_dir is not None else default_log_dir()
    path = directory / LOG_FILE_NAME
    try:
        directory.mkdir(parents=True, exist_ok=True)
        file_handler = QuietRotatingFileHandler(
            path, max_bytes=MAX_BYTES, backup_count=BACKUP_COUNT
        )
    except OSError:
        if not has_console and sys.stderr is not None:
            fallback = logging.StreamHandler(sys.stderr)
            fallback.setLevel(logging.WARNING)
            _install(fallback, CONSOLE_HANDLER_NAME)
        raise
    _install(file_handler, FILE_HANDLER_NAME)
    return path


def _install(handler: logging.Handler, name: str) -> None:
    handler.set_name(name)
    handler.setFormatter(_MaskingFormatter(LOG_FORMAT))
    handler.addFilter(SECRET_FILTER)
    logging.getLogger().addHandler(handler)
