"""The log file: secrets masked wherever they come from, rotation, levels, no duplicate handlers."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tray_app.core.redact import SECRET_FILTER
from tray_app.services import logs

SESSION_ID = "0123456789abcdef0123456789abcdef"
REGISTERED = "api-id-7d1e-not-hex-words"


@pytest.fixture(autouse=True)
def clean_root_logger() -> Iterator[None]:
    """Give each test the root logger back as it found it, with our handlers closed."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def ours() -> list[logging.Handler]:
    names = (logs.FILE_HANDLER_NAME, logs.CONSOLE_HANDLER_NAME)
    return [h for h in logging.getLogger().handlers if h.get_name() in names]


def flush() -> None:
    for handler in ours():
        handler.flush()


def test_secrets_from_a_child_logger_are_masked_in_the_file(tmp_path: Path) -> None:
    path = logs.setup_logging(log_dir=tmp_path)
    SECRET_FILTER.add_secret(REGISTERED)

    logging.getLogger("tray_app.api.deep.child").info(
        "auth OK: %s sent password=hunter2&api_id=%s", SESSION_ID, REGISTERED
    )
    flush()

    text = path.read_text(encoding="utf-8")
    assert "auth OK" in text
    assert "tray_app.api.deep.child" in text
    assert " INFO " in text
    for secret in (SESSION_ID, "hunter2", REGISTERED):
        assert secret not in text
    assert "0123…cdef" in text
    assert "password=••••" in text


def test_tracebacks_are_masked_too(tmp_path: Path) -> None:
    path = logs.setup_logging(log_dir=tmp_path)
    try:
        raise ValueError(f"unparseable body 'OK: {SESSION_ID}' for password=hunter2")
    except ValueError:
        logging.getLogger("tray_app.qt.keeper").exception("ping failed")
    flush()

    text = path.read_text(encoding="utf-8")
    assert "Traceback" in text
    assert "ValueError" in text
    assert SESSION_ID not in text
    assert "hunter2" not in text


def test_file_rotates_at_one_mebibyte_keeping_three(tmp_path: Path) -> None:
    path = logs.setup_logging(log_dir=tmp_path)
    (handler,) = [h for h in ours() if isinstance(h, logs.QuietRotatingFileHandler)]
    assert handler.max_bytes == 1024 * 1024
    assert handler.backup_count == 3

    line = "x" * 1000
    for _ in range(5 * 1100):
        logging.getLogger("tray_app").info(line)
    flush()

    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [path.name, *(f"{path.name}.{n}" for n in (1, 2, 3))]
    assert all(p.stat().st_size <= 1024 * 1024 for p in tmp_path.iterdir())


def test_the_rotating_file_does_not_load_the_standard_handlers_module(tmp_path: Path) -> None:
    # logging.handlers brings pickle and friends into a process that stays resident for weeks.
    probe = (
        "import sys; from pathlib import Path; from tray_app.services import logs; "
        f"logs.setup_logging(log_dir=Path({str(tmp_path)!r})); "
        "import logging; logging.getLogger('x').warning('hello'); "
        "print('logging.handlers' in sys.modules, 'pickle' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["False", "False"]
    assert "hello" in (tmp_path / logs.LOG_FILE_NAME).read_text(encoding="utf-8")


def test_setup_twice_replaces_rather_than_stacks(tmp_path: Path) -> None:
    first = logs.setup_logging(log_dir=tmp_path)
    (old_file,) = ours()

    second = logs.setup_logging(log_dir=tmp_path, console=True)
    assert second == first
    assert sorted(h.get_name() for h in ours()) == sorted(
        [logs.FILE_HANDLER_NAME, logs.CONSOLE_HANDLER_NAME]
    )
    assert old_file not in logging.getLogger().handlers

    logs.setup_logging(log_dir=tmp_path)
    assert [h.get_name() for h in ours()] == [logs.FILE_HANDLER_NAME]

    logging.getLogger("tray_app").warning("once")
    flush()
    assert first.read_text(encoding="utf-8").count("once") == 1


def test_every_handler_carries_the_secret_filter(tmp_path: Path) -> None:
    logs.setup_logging(log_dir=tmp_path, console=True)
    assert len(ours()) == 2
    assert all(SECRET_FILTER in h.filters for h in ours())


def test_console_output_is_masked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup_logging(log_dir=tmp_path, console=True)
    logging.getLogger("tray_app.cli.main").warning("session_id=%s", SESSION_ID)
    flush()
    err = capsys.readouterr().err
    assert "session_id=••••" in err
    assert SESSION_ID not in err


def test_level_applies(tmp_path: Path) -> None:
    path = logs.setup_logging("warning", log_dir=tmp_path)
    log = logging.getLogger("tray_app.level")
    log.info("quiet-info")
    log.warning("loud-warning")
    flush()
    text = path.read_text(encoding="utf-8")
    assert "loud-warning" in text
    assert "quiet-info" not in text

    logs.setup_logging("DEBUG", log_dir=tmp_path)
    log.debug("now-debug")
    flush()
    assert "now-debug" in path.read_text(encoding="utf-8")


def test_unknown_level_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="log level"):
        logs.setup_logging("CHATTY", log_dir=tmp_path)
    assert ours() == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG state folder is Linux only")
def test_default_folder_is_the_user_log_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    path = logs.setup_logging()
    assert path == tmp_path / "state" / "clickatell-session-tray" / "log" / "clickatell-tray.log"
    assert path.parent.is_dir()


# --- hostile input and hostile disks ---

HEX_ID = "f6b9af2a2c9e5b18ee2d257e3def5d66"


@pytest.mark.parametrize(
    "secret", ["pa'ss\"w\\ord\n", "pässwörd-ünicode", "tab\there"], ids=["quotes", "utf8", "tab"]
)
def test_a_secret_quoted_by_repr_is_masked(tmp_path: Path, secret: str) -> None:
    """``%r`` escapes quotes, backslashes, controls: the mask knows those shapes too."""
    path = logs.setup_logging("DEBUG", log_dir=tmp_path)
    SECRET_FILTER.add_secret(secret)
    log = logging.getLogger("tray_app.test")
    log.debug("server answered: %r", f"ERR: 001 for {secret}")
    log.debug("form: %r", {"password": secret})
    log.debug("it's %r", "it's " + secret)
    flush()
    text = path.read_text(encoding="utf-8")
    for shape in (secret, repr(secret)[1:-1], secret.encode("unicode_escape").decode()):
        assert shape not in text
    assert text.count("••••") >= 3


@pytest.mark.parametrize(
    "line",
    [f"sid_{HEX_ID}", f"{HEX_ID}g", f'{{"session_id": "{HEX_ID}"}}', '{"session_id": "abc1XYZ"}'],
    ids=["sid_ prefix", "letter suffix", "JSON hex", "JSON other"],
)
def test_session_ids_glued_to_words_or_in_json_are_masked(tmp_path: Path, line: str) -> None:
    path = logs.setup_logging(log_dir=tmp_path)
    logging.getLogger("tray_app.test").warning("seen %s", line)
    flush()
    text = path.read_text(encoding="utf-8")
    assert HEX_ID not in text
    assert "abc1XYZ" not in text


def test_an_unusable_log_folder_keeps_the_masked_console(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Root cannot be kept out by permissions, so the "folder" sits under a plain file."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(OSError):
        logs.setup_logging(console=True, log_dir=blocker / "logs")
    logging.getLogger("tray_app.test").warning("ping sent session_id=%s", HEX_ID)
    err = capsys.readouterr().err
    assert "ping sent" in err
    assert HEX_ID not in err


def test_an_unusable_log_folder_without_console_still_masks_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(OSError):
        logs.setup_logging(log_dir=blocker / "logs")
    logging.getLogger("tray_app.test").warning("ping sent %s", HEX_ID)
    err = capsys.readouterr().err
    assert "ping sent" in err
    assert HEX_ID not in err


FULL_DISK_RUN = """
import logging, sys
from pathlib import Path
from tray_app.services.logs import setup_logging
setup_logging(log_dir=Path(sys.argv[1]))
for number in range(200):
    logging.getLogger("tray_app.test").warning("record %d", number)
"""


def test_a_full_disk_says_so_once_not_per_record(tmp_path: Path) -> None:
    """A real ENOSPC: the log file is /dev/full, which refuses every write."""
    if not Path("/dev/full").exists():
        pytest.skip("/dev/full is Linux's; no other way to fill a disk cheaply")
    (tmp_path / logs.LOG_FILE_NAME).symlink_to("/dev/full")
    result = subprocess.run(
        [sys.executable, "-c", FULL_DISK_RUN, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Logging error" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert "cannot write the log file (No space left on device)" in lines[0]
