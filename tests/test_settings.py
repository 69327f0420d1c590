"""Settings: typed defaults, strict setters, and a hand-edited file that never breaks the app."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from tray_app.services.settings import APPLICATION, ORGANIZATION, Settings

DEFAULTS = {
    "base_url": "https://api.clickatell.com",
    "ping_interval_minutes": 10,
    "notifications": True,
    "clipboard_clear_seconds": 0,
    "start_at_login": False,
    "local_proxy": False,
    "icon_theme": "auto",
    "log_level": "INFO",
}


@pytest.fixture
def ini(tmp_path: Path) -> Path:
    return tmp_path / "settings.ini"


def open_settings(ini: Path) -> Settings:
    return Settings(QSettings(str(ini), QSettings.Format.IniFormat))


def current(settings: Settings) -> dict[str, object]:
    return {name: getattr(settings, name) for name in DEFAULTS}


def test_defaults_when_nothing_is_stored(ini: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="tray_app.services.settings"):
        assert current(open_settings(ini)) == DEFAULTS
    assert caplog.records == []


def test_default_store_is_named_after_the_app() -> None:
    assert Settings().file_name.endswith(f"{ORGANIZATION}/{APPLICATION}.conf")


def test_values_survive_a_restart(ini: Path) -> None:
    chosen = {
        "base_url": "http://127.0.0.1:8765",
        "ping_interval_minutes": 14,
        "notifications": False,
        "clipboard_clear_seconds": 3600,
        "start_at_login": True,
        "local_proxy": True,
        "icon_theme": "dark",
        "log_level": "DEBUG",
    }
    settings = open_settings(ini)
    for name, value in chosen.items():
        setattr(settings, name, value)

    assert current(open_settings(ini)) == chosen


def test_values_are_normalised_on_the_way_in(ini: Path) -> None:
    settings = open_settings(ini)
    settings.base_url = "  https://sandbox.example.com/api/  "
    settings.icon_theme = "Light"
    settings.log_level = "warning"

    reopened = open_settings(ini)
    assert reopened.base_url == "https://sandbox.example.com/api"
    assert reopened.icon_theme == "light"
    assert reopened.log_level == "WARNING"


@pytest.mark.parametrize(
    "url",
    [
        "https://api.clickatell.com",
        "https://api.clickatell.com:8443/path",
        "http://127.0.0.1:8080",
        "http://127.4.5.6",
        "http://localhost:9000",
        "http://[::1]:9000",
    ],
)
def test_accepted_base_urls(ini: Path, url: str) -> None:
    settings = open_settings(ini)
    settings.base_url = url
    assert settings.base_url == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://api.clickatell.com", "plain http:// is only allowed for a server on this machine"),
        ("http://192.168.1.10:8080", "plain http:// is only allowed for a server on this machine"),
        ("ftp://api.clickatell.com", "must look like https://"),
        ("api.clickatell.com", "must look like https://"),
        ("https://", "must look like https://"),
        ("", "must look like https://"),
        ("https://user:secret@api.clickatell.com", "must not contain a user name or password"),
        ("https://api.clickatell.com/?api_id=1", "must not have a query"),
        ("https://api.clickatell.com:99999", "not a valid URL"),
    ],
)
def test_rejected_base_urls(ini: Path, url: str, message: str) -> None:
    settings = open_settings(ini)
    with pytest.raises(ValueError, match=message) as raised:
        settings.base_url = url
    assert "secret" not in str(raised.value)
    assert settings.base_url == DEFAULTS["base_url"]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ping_interval_minutes", 0, "from 1 to 14"),
        ("ping_interval_minutes", 15, "from 1 to 14"),
        ("ping_interval_minutes", "10", "from 1 to 14"),
        ("ping_interval_minutes", 10.0, "from 1 to 14"),
        ("ping_interval_minutes", True, "from 1 to 14"),
        ("clipboard_clear_seconds", -1, "from 0 to 3600"),
        ("clipboard_clear_seconds", 3601, "from 0 to 3600"),
        ("notifications", 1, "true or false"),
        ("start_at_login", "yes", "true or false"),
        ("icon_theme", "purple", "one of auto, light, dark"),
        ("log_level", "LOUD", "one of DEBUG, INFO, WARNING, ERROR"),
        ("base_url", 42, "must be text"),
    ],
)
def test_setters_reject_invalid_values(ini: Path, name: str, value: object, message: str) -> None:
    settings = open_settings(ini)
    with pytest.raises(ValueError, match=message):
        setattr(settings, name, value)
    assert getattr(settings, name) == DEFAULTS[name]
    assert not ini.exists() or name not in ini.read_text()


def test_hand_edited_garbage_falls_back_to_defaults_with_one_warning_per_key(
    ini: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ini.write_text(
        "[General]\n"
        "base_url=http://evil.example.com\n"
        "ping_interval_minutes=ten\n"
        "notifications=maybe\n"
        "clipboard_clear_seconds=-5\n"
        "start_at_login=2\n"
        "local_proxy=sometimes\n"
        "icon_theme=purple\n"
        "log_level=a,b\n"
        "this line is not a key at all\n"
        "\x00\x01\x02 binary junk\n"
    )

    with caplog.at_level(logging.WARNING, logger="tray_app.services.settings"):
        settings = open_settings(ini)
        assert current(settings) == DEFAULTS
        assert current(settings) == DEFAULTS
        assert current(open_settings(ini)) == DEFAULTS

    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == len(DEFAULTS)
    for name in DEFAULTS:
        assert sum(f"stored value of {name} in" in message for message in messages) == 1, name


def test_a_valid_value_next_to_garbage_is_kept(ini: Path) -> None:
    ini.write_text("[General]\nping_interval_minutes=5\nnotifications=oops\nicon_theme=dark\n")

    settings = open_settings(ini)

    assert settings.ping_interval_minutes == 5
    assert settings.notifications is True
    assert settings.icon_theme == "dark"


def test_setting_a_value_repairs_a_garbage_one(ini: Path) -> None:
    ini.write_text("[General]\nping_interval_minutes=ten\n")
    settings = open_settings(ini)

    settings.ping_interval_minutes = 7

    assert open_settings(ini).ping_interval_minutes == 7
    assert "ping_interval_minutes=7" in ini.read_text()


def test_a_password_in_a_hand_edited_url_is_not_logged(
    ini: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ini.write_text("[General]\nbase_url=https://me:hunter2@api.clickatell.com\n")

    with caplog.at_level(logging.WARNING, logger="tray_app.services.settings"):
        assert open_settings(ini).base_url == DEFAULTS["base_url"]

    assert "must not contain a user name or password" in caplog.text
    assert "hunter2" not in caplog.text


def test_update_writes_all_values_or_none(ini: Path) -> None:
    settings = open_settings(ini)
    with pytest.raises(ValueError, match="icon_theme"):
        settings.update(ping_interval_minutes=3, icon_theme="purple")
    assert not ini.exists()
    assert open_settings(ini).ping_interval_minutes == 10
    settings.update(ping_interval_minutes=3, icon_theme="dark")
    again = open_settings(ini)
    assert (again.ping_interval_minutes, again.icon_theme) == (3, "dark")


def test_update_refuses_unknown_names(ini: Path) -> None:
    with pytest.raises(ValueError, match="unknown setting: colour"):
        open_settings(ini).update(colour="red")


def test_defaults_are_what_an_empty_store_reads(ini: Path) -> None:
    assert Settings.defaults() == current(open_settings(ini))
