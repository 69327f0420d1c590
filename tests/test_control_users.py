"""The owner's directory and socket among other users: squatters, wrong modes, peer checks.

Each test has a shared sticky temporary directory of its own, like /tmp, with XDG_RUNTIME_DIR
unset, or a runtime directory of another user. The other user is real, made with
``useradd`` (and removed again); these tests skip only where that is impossible, and never
in CI.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from desktop_stack import REQUIRE_DESKTOP
from processes import LineReader
from pytestqt.qtbot import QtBot
from test_control import CLI, ask_in_thread, echo, raw_exchange, start_tray

from tray_app.core import control
from tray_app.qt.control import ControlServer
from tray_app.services.control_client import Owner, OwnerUnreachable, ask
from tray_app.services.owner_files import DIR_NAME, UnsafeDirectory, owner_dir

SQUATTER = "cst-squatter"


def _second_user() -> pwd.struct_passwd:
    """A real second user, made with useradd; skip (fail in CI) where that cannot be done."""
    try:
        return pwd.getpwnam(SQUATTER)
    except KeyError:
        pass
    if os.geteuid() == 0 and shutil.which("useradd"):
        made = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SQUATTER],
            capture_output=True,
            text=True,
            check=False,
        )
        if made.returncode == 0:
            return pwd.getpwnam(SQUATTER)
        reason = f"useradd failed: {made.stderr.strip()}"
    else:
        reason = "a second user needs root and useradd"
    if os.environ.get(REQUIRE_DESKTOP) == "1":
        pytest.fail(f"{reason} ({REQUIRE_DESKTOP}=1 forbids skipping)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def other_user() -> Iterator[pwd.struct_passwd]:
    """The second user; removed again at the end if this module made it."""
    existed = _user_exists(SQUATTER)
    user = _second_user()
    yield user
    if not existed:
        subprocess.run(["userdel", SQUATTER], capture_output=True, check=False)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture
def shared_tmp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A sticky world-writable folder standing in for /tmp, with XDG_RUNTIME_DIR unset."""
    path = Path(tempfile.mkdtemp(prefix="cst-tmp-", dir="/tmp"))
    path.chmod(0o1777)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(path))
    tempfile.tempdir = None
    yield path
    tempfile.tempdir = None
    shutil.rmtree(path, ignore_errors=True)


def as_user(
    user: pwd.struct_passwd,
    code: str,
    *args: str,
    env: dict[str, str] | None = None,
    imports: str = "import os, socket, sys",
) -> subprocess.Popen[str]:
    """Run Python ``code`` as ``user``, its output read line by line.

    The process starts as root, runs ``imports`` (every module the code needs, the standard
    library's too), then drops to ``user`` by itself, as a daemon drops root: the interpreter
    and the checkout may sit in folders only root can enter (a venv under /root, a clone in a
    0700 temporary folder), which a process started as the other user could not execute.
    """
    drop = (
        "import os as _os\n"
        f"_os.setgroups([]); _os.setgid({user.pw_gid}); _os.setuid({user.pw_uid})\n"
        f"assert _os.geteuid() == {user.pw_uid} and _os.getegid() == {user.pw_gid}\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", f"{imports}\n{drop}{code}", *args],
        env={
            **os.environ,
            "HOME": "/nonexistent",
            "QT_QPA_PLATFORM": "offscreen",
            "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
            **(env or {}),
        },
        cwd="/",
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


SQUAT = textwrap.dedent(
    """
    import os, socket, sys
    directory = sys.argv[1]
    os.mkdir(directory, 0o777)
    os.chmod(directory, 0o777)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(os.path.join(directory, "owner.sock"))
    os.chmod(os.path.join(directory, "owner.sock"), 0o777)
    listener.listen(5)
    print("squatting", flush=True)
    listener.settimeout(30)
    try:
        connection, _ = listener.accept()
        print("someone connected", flush=True)
    except OSError:
        pass
    """
)


def test_a_directory_made_by_another_user_stops_the_start_with_exactly_what_is_wrong(
    other_user: pwd.struct_passwd, shared_tmp: Path
) -> None:
    expected = shared_tmp / f"{DIR_NAME}-{os.geteuid()}"
    assert owner_dir() == expected
    squatter = as_user(other_user, SQUAT, str(expected))
    assert squatter.stdout is not None
    out = LineReader(squatter.stdout)
    try:
        out.wait_for("squatting", 30)
        assert expected.lstat().st_uid == other_user.pw_uid
        launch = start_tray()
        for command in (["status"], ["keepalive"]):
            result = subprocess.run(
                [*CLI, *command],
                env={**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"},
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert result.returncode == 1, result.stderr
            assert f"belongs to {SQUATTER}, not to you" in result.stderr
    finally:
        squatter.kill()
        squatter.wait(timeout=10)
    assert launch.returncode == 1, launch.stderr
    assert "already running" not in launch.stderr
    assert f"cannot start: {expected} belongs to {SQUATTER}, not to you" in launch.stderr
    assert "Traceback" not in launch.stderr
    assert "someone connected" not in out.rest(), "the app talked to another user's socket"


def test_an_old_style_socket_planted_by_another_user_does_not_stop_the_app(
    other_user: pwd.struct_passwd, shared_tmp: Path, qtbot: QtBot
) -> None:
    """The name the app used before (``<tmp>/<app id>-<user>``) no longer means anything."""
    from tray_app import APP_ID

    planted = shared_tmp / f"{APP_ID}-{pwd.getpwuid(os.geteuid()).pw_name}"
    code = SQUAT.replace("os.mkdir(directory, 0o777)\nos.chmod(directory, 0o777)\n", "")
    squatter = as_user(
        other_user, code.replace('os.path.join(directory, "owner.sock")', "directory"), str(planted)
    )
    assert squatter.stdout is not None
    out = LineReader(squatter.stdout)
    try:
        out.wait_for("squatting", 30)
        here = ControlServer()
        assert here.claim()
        here.serve(echo)
        assert ask_in_thread(qtbot, "status")["ok"] is True
        here.close()
    finally:
        squatter.kill()
        squatter.wait(timeout=10)


@pytest.mark.parametrize("problem", ["open-mode", "symlink"])
def test_a_directory_open_to_others_or_a_symlink_is_refused_with_the_fix(
    shared_tmp: Path, problem: str
) -> None:
    expected = shared_tmp / f"{DIR_NAME}-{os.geteuid()}"
    if problem == "open-mode":
        expected.mkdir()
        expected.chmod(0o777)
        words = f"{expected} is open to other users (mode 0777); run: chmod 700 {expected}"
    else:
        target = shared_tmp / "elsewhere"
        target.mkdir(mode=0o700)
        expected.symlink_to(target)
        words = f"{expected} is a symbolic link, not a directory; remove it"
    with pytest.raises(UnsafeDirectory, match="^" + words.replace("(", r"\(").replace(")", r"\)")):
        ControlServer().claim()
    launch = start_tray()
    assert launch.returncode == 1
    assert words in launch.stderr
    assert "Traceback" not in launch.stderr


OWNER_IMPORTS = textwrap.dedent(
    """
    import os, socket, sys
    from PySide6.QtCore import QCoreApplication, QTimer
    from tray_app.core import control
    from tray_app.qt.control import ControlServer
    """
)
OTHER_OWNER = textwrap.dedent(
    """
    app = QCoreApplication([])
    server = ControlServer()
    assert server.claim()
    server.serve(lambda request, reply: reply.send(control.ok(secret="only for my user")))
    print("serving", server.path, flush=True)
    QTimer.singleShot(30000, app.quit)
    app.exec()
    """
)


def test_the_owner_answers_its_own_user_only_and_the_client_trusts_its_own_user_only(
    other_user: pwd.struct_passwd, qtbot: QtBot
) -> None:
    """An owner run by another user: root can reach its socket (root passes any mode), but
    the owner sees a peer that is not its user and hangs up, and the client sees an owner that
    is not its user and refuses the answer: SO_PEERCRED on both ends."""
    runtime = Path(tempfile.mkdtemp(prefix="cst-other-", dir="/tmp"))
    os.chown(runtime, other_user.pw_uid, other_user.pw_gid)
    runtime.chmod(0o700)
    owner = as_user(
        other_user, OTHER_OWNER, env={"XDG_RUNTIME_DIR": str(runtime)}, imports=OWNER_IMPORTS
    )
    try:
        assert owner.stdout is not None
        out = LineReader(owner.stdout)
        path = out.wait_for("serving ", 30).removeprefix("serving ")
        assert os.stat(path).st_uid == other_user.pw_uid
        answer = raw_exchange(qtbot, path, control.encode_request("status"))
        assert answer == b"", "the owner answered a process of another user"
        with pytest.raises(OwnerUnreachable, match="is not yours"):
            ask(Owner(path, None), "status", timeout=5)
    finally:
        owner.kill()
        owner.wait(timeout=10)
        shutil.rmtree(runtime, ignore_errors=True)
