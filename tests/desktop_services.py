"""Xvfb, a private session bus and trayer, started the same way for the tests and the benchmark.

The recipe is shared/desktop-ci.md: Xvfb picks a free display through ``-displayfd``, a private
``dbus-daemon`` prints its address, gnome-keyring is unlocked from stdin on that bus, trayer docks
at the top right of the screen. Plain functions
with no pytest in them, so ``desktop_stack`` (the pytest fixtures) and ``tests.perf.desktop``
(the benchmark) share one recipe and each turns :class:`ServiceError` into its own failure.
A starter that raises has already stopped what it started.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

STARTUP_TIMEOUT = 10.0
LOG_TAIL = 2000

# Variables that would point a child at the developer's own desktop, bus or keyring.
INHERITED_AWAY = (
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XAUTHORITY",
    "DBUS_SESSION_BUS_ADDRESS",
    "PYTHON_KEYRING_BACKEND",
    "GNOME_KEYRING_CONTROL",
    "SSH_AUTH_SOCK",
    "QT_QPA_PLATFORMTHEME",
    "XDG_CURRENT_DESKTOP",
    "XDG_SESSION_TYPE",
)


class ServiceError(Exception):
    """A service did not come up; the message ends with its log's tail, which says why."""

    def __init__(self, reason: str, log_path: Path | None = None) -> None:
        self.reason = reason
        tail = log_path.read_text(errors="replace")[-LOG_TAIL:] if log_path else ""
        super().__init__(f"{reason}\n{tail}" if tail else reason)


def child_env(
    overrides: Mapping[str, str], away: Collection[str] = INHERITED_AWAY
) -> dict[str, str]:
    """This process's environment without the developer's desktop (``away``), plus ``overrides``."""
    env = {key: value for key, value in os.environ.items() if key not in away}
    env.update(overrides)
    return env


def stop(process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; always reaps the child, closes its pipes."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for stream in (process.stdout, process.stderr, process.stdin):
        if stream is not None:
            stream.close()


def succeeds(command: list[str], env: Mapping[str, str]) -> bool:
    """Whether ``command`` exits 0: the readiness probes ask a tool rather than guess a delay."""
    return (
        subprocess.run(
            command,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        ).returncode
        == 0
    )


def wait_until_ready(
    what: str,
    ready: Callable[[], bool],
    log_path: Path | None = None,
    process: subprocess.Popen[bytes] | None = None,
) -> None:
    """Poll ``ready`` for up to STARTUP_TIMEOUT; a ``process`` that exits ends the wait early."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not ready():
        if process is not None and process.poll() is not None:
            raise ServiceError(f"{what} did not come up: exited {process.returncode}", log_path)
        if time.monotonic() > deadline:
            raise ServiceError(f"{what} did not come up within {STARTUP_TIMEOUT:g} s", log_path)
        time.sleep(0.02)


@contextlib.contextmanager
def _stopped_on_failure(process: subprocess.Popen[bytes]) -> Iterator[None]:
    """Stop ``process`` if its start-up fails: the caller never gets it, so cannot stop it."""
    try:
        yield
    except BaseException:
        stop(process)
        raise


def _first_line(stream: IO[bytes]) -> str:
    """The first line a starting service prints, or "" if it prints none within the timeout."""
    readable, _, _ = select.select([stream], [], [], STARTUP_TIMEOUT)
    return stream.readline().decode().strip() if readable else ""


def user_folders(root: Path) -> dict[str, Path]:
    """HOME and the XDG folders of a throw-away user under ``root`` (not created here)."""
    home = root / "home"
    return {
        "HOME": home,
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_CACHE_HOME": home / ".cache",
        "XDG_DATA_HOME": home / ".local" / "share",
        "XDG_STATE_HOME": home / ".local" / "state",
        "XDG_RUNTIME_DIR": root / "run",
    }


def make_user_folders(root: Path) -> dict[str, str]:
    """Create :func:`user_folders` (the runtime folder private to this user, mode 0700) and
    return them as environment variables."""
    folders = user_folders(root)
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    folders["XDG_RUNTIME_DIR"].chmod(0o700)
    return {key: str(path) for key, path in folders.items()}


def start_logged(
    argv: list[str], env: Mapping[str, str], log_path: Path, **popen: Any
) -> subprocess.Popen[bytes]:
    """``argv`` with no standard input and its output in ``log_path``, for the readiness
    checks to quote when the service does not come up."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            argv, env=dict(env), stdin=subprocess.DEVNULL, stdout=log, stderr=log, **popen
        )


def start_xvfb(env: Mapping[str, str], log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Xvfb at 1280x800x24 and its DISPLAY; it picks a free display itself, so runs never clash."""
    read_end, write_end = os.pipe()
    process = start_logged(
        [
            *("Xvfb", "-displayfd", str(write_end)),
            *("-screen", "0", "1280x800x24", "-nolisten", "tcp"),
        ],
        env,
        log_path,
        pass_fds=(write_end,),
    )
    os.close(write_end)
    with _stopped_on_failure(process):
        with os.fdopen(read_end, "rb") as pipe:
            number = _first_line(pipe)
        if not number.isdigit():
            raise ServiceError("Xvfb reported no display", log_path)
    return process, f":{number}"


def start_session_bus(
    env: Mapping[str, str], log_path: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """A private ``dbus-daemon --session`` and its address, so no child reaches the real bus."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1"],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
        )
    with _stopped_on_failure(process):
        assert process.stdout is not None
        address = _first_line(process.stdout)
        if not address:
            raise ServiceError("dbus-daemon printed no address", log_path)
    return process, address


def bus_query(address: str, method: str, name: str) -> object:
    """Ask the bus itself about ``name`` (never starts a service, unlike calling it)."""
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    bus = DBusAddress("/org/freedesktop/DBus", "org.freedesktop.DBus", "org.freedesktop.DBus")
    with open_dbus_connection(address) as connection:
        reply = connection.send_and_get_reply(new_method_call(bus, method, "s", (name,)))
    return reply.body[0]


def _gone(pid: int) -> bool:
    """True once ``pid`` has exited; a zombie waiting for init to reap it counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def stop_pid(pid: int) -> None:
    """Stop a process that is not our child (gnome-keyring daemonizes itself away from us)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if _gone(pid):
                return
            time.sleep(0.02)


def start_secret_service(env: Mapping[str, str], address: str, password: str) -> int:
    """gnome-keyring's Secret Service on the bus at ``address``, unlocked with ``password``.

    ``env`` must hold that bus and a throw-away HOME (the keyring files go there). The daemon
    forks away from us, so its pid comes back for :func:`stop_pid`.
    """
    started = subprocess.run(
        ["gnome-keyring-daemon", "--unlock", "--components=secrets", "--daemonize"],
        env=dict(env),
        input=password.encode(),
        capture_output=True,
        timeout=STARTUP_TIMEOUT,
        check=False,
    )
    if started.returncode != 0:
        raise ServiceError(
            f"gnome-keyring-daemon failed: {started.stderr.decode(errors='replace')}"
        )
    wait_until_ready(
        "gnome-keyring on the private bus",
        lambda: bool(bus_query(address, "NameHasOwner", "org.freedesktop.secrets")),
    )
    return int(bus_query(address, "GetConnectionUnixProcessID", "org.freedesktop.secrets"))


def start_trayer(env: Mapping[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """trayer, an XEmbed tray docked top right, once its panel window exists to embed icons."""
    process = start_logged(
        [
            *("trayer", "--edge", "top", "--align", "right", "--widthtype", "request"),
            *("--height", "40", "--SetDockType", "true", "--transparent", "false"),
        ],
        env,
        log_path,
    )
    with _stopped_on_failure(process):
        wait_until_ready(
            "trayer's panel window",
            lambda: succeeds(["xdotool", "search", "--name", "^panel$"], env),
            log_path,
            process,
        )
    return process
