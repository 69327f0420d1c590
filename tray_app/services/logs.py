"""Logging to a rotating file in the user's log folder, with every secret masked.

Handlers go on the root logger so that library records (requests, keyring) land
in the same file. The secret filter sits on each handler rather than on a
logger: a logger's filters only see records logged to that very logger, not
those propagating up from its children.
"""

from __future__ import annotations

import logging
import sys
from logging.handlers import RotatingFileHandler
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


def default_log_dir() -> Path:
    """The platform's per-user log folder (``~/.local/state/.../log`` on Linux)."""
    return platformdirs.user_log_path(LOG_DIR_NAME, appauthor=False)


def setup_logging(
    level: str = "INFO", *, console: bool = False, log_dir: Path | None = None
) -> Path:
    """Send all logging to a masked rotating file (and stderr if asked); return the file's path.

    Safe to call again, e.g. after the settings change the level: the previous
    handlers are closed and replaced, never duplicated.
    """
    numeric = logging.getLevelNamesMapping().get(level.upper())
    if numeric is None:
        raise ValueError(f"unknown log level {level!r}")
    directory = log_dir if log_dir is not None else default_log_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOG_FILE_NAME

    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() in (FILE_HANDLER_NAME, CONSOLE_HANDLER_NAME):
            root.removeHandler(handler)
            handler.close()

    formatter = _MaskingFormatter(LOG_FORMAT)
    file_handler = RotatingFileHandler(
        path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8"
    )
    file_handler.set_name(FILE_HANDLER_NAME)
    handlers: list[logging.Handler] = [file_handler]
    # A gui-script on Windows has no stderr at all (sys.stderr is None).
    if console and sys.stderr is not None:
        console_handler = logging.StreamHandler(sys.stderr)
        console_handler.set_name(CONSOLE_HANDLER_NAME)
        handlers.append(console_handler)
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(SECRET_FILTER)
        root.addHandler(handler)
    root.setLevel(numeric)
    return path
