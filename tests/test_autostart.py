"""Start at login: the XDG entry for real on disk, the macOS and Windows variants by content."""

from __future__ import annotations

import os
import plistlib
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tray_app import APP_ID, APP_NAME
from tray_app.services import autostart
from tray_app.services.autostart import AutostartError

_ESCAPES = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}


def exec_argv(value: str) -> list[str]:
    """Undo Exec encoding as the spec orders it: string escapes, then quoting, then ``%%``.

    Written out by hand because ``shlex`` does not unescape ``$`` and backquote in quotes.
    """
    text = iter(re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), value))
    args: list[str] = []
    word: list[str] = []
    in_word = quoted = False
    for char in text:
        if quoted:
            if char == '"':
                quoted = False
            else:
                word.append(next(text) if char == "\\" else char)
        elif char == " ":
            if in_word:
                args.append("".join(word))
            word, in_word = [], False
        else:
            in_word = True
            if char == '"':
                quoted = True
            else:
                word.append(char)
    assert not quoted, f"unterminated quote in {value!r}"
    if in_word:
        args.append("".join(word))
    return [arg.replace("%%", "%") for arg in args]


def validate_desktop_file(path: Path) -> None:
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        message = "desktop-file-validate is missing (apt install desktop-file-utils)"
        if os.environ.get("CLICKATELL_TRAY_REQUIRE_DESKTOP") == "1":
            pytest.fail(message)
        pytest.skip(message)
    result = subprocess.run([tool, str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error:" not in result.stdout + result.stderr


@pytest.fixture
def xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A private XDG config folder, and the Linux branch whatever the host OS."""
    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.setattr(autostart, "_platform", lambda: "linux")
    return config / "autostart" / f"{APP_ID}.desktop"


def entry_values(path: Path) -> dict[str, str]:
    return autostart.desktop_entry_values(path.read_text(encoding="utf-8"))


def test_enable_writes_a_valid_entry_with_an_absolute_command(xdg: Path) -> None:
    assert not autostart.is_enabled()

    autostart.enable()

    assert xdg.is_file()
    assert autostart.is_enabled()
    validate_desktop_file(xdg)
    values = entry_values(xdg)
    program, *args = exec_argv(values["Exec"])
    assert Path(program).is_absolute()
    assert Path(program).exists()
    assert args == ["--hidden"]
    assert values["Hidden"] == "false"
    assert values["X-GNOME-Autostart-Delay"] == "10"
    assert values["X-KDE-autostart-after"] == "panel"
    assert values["Name"] == APP_NAME


def test_disable_removes_the_entry_and_tolerates_repeats(xdg: Path) -> None:
    autostart.enable()
    autostart.disable()
    assert not xdg.exists()
    assert not autostart.is_enabled()
    autostart.disable()
    assert not autostart.is_enabled()


def test_enable_twice_leaves_one_identical_entry(xdg: Path) -> None:
    autostart.enable()
    first = xdg.read_bytes()
    autostart.enable()
    assert xdg.read_bytes() == first
    assert sorted(p.name for p in xdg.parent.iterdir()) == [xdg.name]
    assert autostart.is_enabled()


def test_entry_hidden_by_the_session_settings_counts_as_off(xdg: Path) -> None:
    autostart.enable()
    xdg.write_text(xdg.read_text().replace("Hidden=false", "Hidden=true"))
    assert not autostart.is_enabled()


def test_frozen_build_starts_its_own_executable(
    xdg: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = tmp_path / "My Apps" / "Clickatell $Tray"
    folder.mkdir(parents=True)
    executable = folder / "clickatell-tray"
    executable.write_text("")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(executable))

    autostart.enable()
    validate_desktop_file(xdg)
    assert exec_argv(entry_values(xdg)["Exec"]) == [str(executable), "--hidden"]

    gui = folder / "clickatell-tray-gui"
    gui.write_text("")
    autostart.enable()
    assert exec_argv(entry_values(xdg)["Exec"]) == [str(gui), "--hidden"]


def test_without_an_installed_script_it_runs_the_module(
    xdg: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    interpreter = tmp_path / "py env" / "bin" / "python3"
    interpreter.parent.mkdir(parents=True)
    interpreter.write_text("")
    monkeypatch.setattr(sys, "executable", str(interpreter))
    monkeypatch.setattr(sysconfig, "get_path", lambda *_: str(tmp_path / "none"))

    expected = [str(interpreter), "-m", "tray_app", "--hidden"]
    assert autostart.launch_command() == expected
    autostart.enable()
    validate_desktop_file(xdg)
    assert exec_argv(entry_values(xdg)["Exec"]) == expected


def test_relative_or_missing_xdg_config_home_falls_back_to_dot_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    expected = tmp_path / ".config" / "autostart" / f"{APP_ID}.desktop"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/config")
    assert autostart.desktop_entry_path() == expected
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert autostart.desktop_entry_path() == expected


def test_unwritable_location_raises_one_plain_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A file where the folder should be fails even for root, unlike chmod.
    blocker = tmp_path / "config"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(blocker))
    monkeypatch.setattr(autostart, "_platform", lambda: "linux")

    with pytest.raises(AutostartError, match="Cannot write"):
        autostart.enable()
    with pytest.raises(AutostartError, match="Cannot remove"):
        autostart.disable()
    with pytest.raises(AutostartError, match="Cannot read"):
        autostart.is_enabled()


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["/usr/bin/clickatell-tray-gui"], "/usr/bin/clickatell-tray-gui"),
        (["/opt/My App/run", "-m", "tray_app"], '"/opt/My App/run" -m tray_app'),
        (["/a\\b"], '"/a\\\\\\\\b"'),
        (['/x/say "hi"'], '"/x/say \\\\"hi\\\\""'),
        (["/x/$HOME`id`"], '"/x/\\\\$HOME\\\\`id\\\\`"'),
        (["/x/100%"], "/x/100%%"),
        (["/x/run", ""], '/x/run ""'),
    ],
)
def test_exec_quoting_follows_the_desktop_entry_spec(command: list[str], expected: str) -> None:
    encoded = autostart.desktop_exec(command)
    assert encoded == expected
    assert exec_argv(encoded) == command


def test_launch_agent_plist_content() -> None:
    command = ["/Applications/Clickatell Session Tray.app/Contents/MacOS/clickatell-tray-gui"]
    plist = plistlib.loads(autostart.launch_agent_plist(command))
    assert plist["Label"] == APP_ID
    assert plist["ProgramArguments"] == command
    assert plist["RunAtLoad"] is True
    assert plist["KeepAlive"] is False
    assert plist["LimitLoadToSessionType"] == "Aqua"


def test_macos_branch_writes_and_removes_the_launch_agent(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(autostart, "_platform", lambda: "darwin")
    agent = tmp_path / "Library" / "LaunchAgents" / f"{APP_ID}.plist"

    autostart.enable()
    assert autostart.is_enabled()
    assert plistlib.loads(agent.read_bytes())["ProgramArguments"] == autostart.launch_command()
    autostart.disable()
    assert not agent.exists()
    assert not autostart.is_enabled()


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (
            [r"C:\Program Files\Clickatell Session Tray\clickatell-tray-gui.exe"],
            r'"C:\Program Files\Clickatell Session Tray\clickatell-tray-gui.exe"',
        ),
        (
            [r"C:\Users\Ann Lee\venv\Scripts\pythonw.exe", "-m", "tray_app"],
            r'"C:\Users\Ann Lee\venv\Scripts\pythonw.exe" -m tray_app',
        ),
        ([r"C:\t\app.exe", "--name", "two words"], r'"C:\t\app.exe" --name "two words"'),
    ],
)
def test_windows_command_line(command: list[str], expected: str) -> None:
    assert autostart.windows_command_line(command) == expected


class FakeWinreg:
    """Just enough of ``winreg`` over a dict, so the Run-key logic runs without Windows."""

    HKEY_CURRENT_USER = "HKCU"
    KEY_SET_VALUE = 2
    REG_SZ = 1
    REG_BINARY = 3

    def __init__(self) -> None:
        self.keys: dict[str, dict[str, tuple[object, int]]] = {}
        self.read_only = False

    class _Key:
        def __init__(self, values: dict[str, tuple[object, int]]) -> None:
            self.values = values

        def __enter__(self) -> FakeWinreg._Key:
            return self

        def __exit__(self, *_: object) -> None:
            return None

    def OpenKey(self, _root: str, sub_key: str, *_: object) -> _Key:
        if sub_key not in self.keys:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return self._Key(self.keys[sub_key])

    def CreateKeyEx(self, _root: str, sub_key: str, *_: object) -> _Key:
        if self.read_only:
            raise PermissionError(5, "Access is denied")
        return self._Key(self.keys.setdefault(sub_key, {}))

    def QueryValueEx(self, key: _Key, name: str) -> tuple[object, int]:
        if name not in key.values:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return key.values[name]

    def SetValueEx(self, key: _Key, name: str, _reserved: int, kind: int, value: object) -> None:
        key.values[name] = (value, kind)

    def DeleteValue(self, key: _Key, name: str) -> None:
        if key.values.pop(name, None) is None:
            raise FileNotFoundError(2, "The system cannot find the file specified")


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> FakeWinreg:
    fake = FakeWinreg()
    monkeypatch.setitem(sys.modules, "winreg", fake)
    monkeypatch.setattr(autostart, "_platform", lambda: "win32")
    return fake


def test_windows_run_value_round_trip(registry: FakeWinreg) -> None:
    assert not autostart.is_enabled()
    autostart.enable()
    value, kind = registry.keys[autostart.WINDOWS_RUN_KEY][APP_NAME]
    assert kind == registry.REG_SZ
    assert value == autostart.windows_command_line(autostart.launch_command())
    assert autostart.is_enabled()
    autostart.disable()
    assert APP_NAME not in registry.keys[autostart.WINDOWS_RUN_KEY]
    assert not autostart.is_enabled()
    autostart.disable()


def test_windows_task_manager_veto_is_seen_and_cleared_by_enable(registry: FakeWinreg) -> None:
    autostart.enable()
    registry.keys[autostart.WINDOWS_APPROVED_KEY] = {
        APP_NAME: (b"\x03" + bytes(11), registry.REG_BINARY)
    }
    assert not autostart.is_enabled()
    autostart.enable()
    assert APP_NAME not in registry.keys[autostart.WINDOWS_APPROVED_KEY]
    assert autostart.is_enabled()


def test_windows_access_denied_is_an_autostart_error(registry: FakeWinreg) -> None:
    registry.read_only = True
    with pytest.raises(AutostartError, match="start-up list"):
        autostart.enable()


@pytest.mark.parametrize(
    ("data", "approved"),
    [(None, True), (b"", True), (b"\x02" + bytes(11), True), (b"\x03" + bytes(11), False)],
)
def test_windows_startup_approved_flag(data: bytes | None, approved: bool) -> None:
    assert autostart.windows_approved(data) is approved
