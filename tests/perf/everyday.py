"""What the app needs in its everyday mode, started for the benchmark and stopped after it.

Everyday mode is what people keep running: credentials in a real Secret Service keyring
(gnome-keyring on a private bus, unlocked from stdin), signed in with ``clickatell-tray login``
against ``clickatell-tray simulate`` running as a process of its own. The stack floor also
needs a TLS server on loopback (a throw-away self-signed certificate made with ``openssl``) for
its one HTTPS request. Whatever cannot be started is named in ``problems``, and the subjects
that need it are left out of the run.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import shutil
import ssl
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.desktop_services import (
    STARTUP_TIMEOUT,
    ServiceError,
    start_secret_service,
    start_session_bus,
    stop,
    stop_pid,
)
from tests.perf.desktop import child_env
from tests.perf.gui import sandbox_env
from tray_app.sim.server import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER

KEYRING_PASSWORD = "perf-keyring"


@dataclass
class Everyday:
    """The running services: environment overrides, addresses and what is missing."""

    overrides: dict[str, str] = field(default_factory=dict)
    base_url: str | None = None
    tls_url: str | None = None
    cafile: Path | None = None
    problems: list[str] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)
    """What the simulator served, by ``command outcome`` (read from its JSON lines)."""

    @property
    def signed_in(self) -> bool:
        return self.base_url is not None and not self.problems


def clickatell_tray() -> list[str]:
    script = Path(sys.executable).with_name("clickatell-tray")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tray_app"]


@contextlib.contextmanager
def start_everyday(workdir: Path, bus: dict[str, str], keyring_home: Path) -> Iterator[Everyday]:
    """The simulator, the keyring (on ``bus``, or a private bus of its own) and a TLS server."""
    workdir.mkdir(parents=True, exist_ok=True)
    everyday = Everyday(overrides=dict(bus))
    with contextlib.ExitStack() as stack:
        try:
            _start_keyring(workdir, keyring_home, everyday, stack)
        except ServiceError as exc:
            everyday.problems.append(f"no Secret Service: {exc.reason}")
        _start_simulator(workdir, everyday, stack)
        _start_tls(workdir, everyday, stack)
        if everyday.base_url is not None and not everyday.problems:
            _log_in(workdir, keyring_home, everyday)
        yield everyday


def _start_keyring(
    workdir: Path, home: Path, everyday: Everyday, stack: contextlib.ExitStack
) -> None:
    missing = [tool for tool in ("dbus-daemon", "gnome-keyring-daemon") if not shutil.which(tool)]
    if missing:
        raise ServiceError(f"{', '.join(missing)} not installed")
    env = child_env({**sandbox_env(home), **everyday.overrides})
    if "DBUS_SESSION_BUS_ADDRESS" not in everyday.overrides:
        process, address = start_session_bus(env, workdir / "dbus.log")
        stack.callback(stop, process)
        everyday.overrides["DBUS_SESSION_BUS_ADDRESS"] = address
        env["DBUS_SESSION_BUS_ADDRESS"] = address
    pid = start_secret_service(env, env["DBUS_SESSION_BUS_ADDRESS"], KEYRING_PASSWORD)
    stack.callback(stop_pid, pid)


def _start_simulator(workdir: Path, everyday: Everyday, stack: contextlib.ExitStack) -> None:
    with (workdir / "simulator.log").open("wb") as log:
        process = subprocess.Popen(
            [*clickatell_tray(), "simulate"],
            env=child_env({}),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
        )
    stack.callback(stop, process)
    assert process.stdout is not None
    url = process.stdout.readline().decode().strip()
    if not url.startswith("http://127.0.0.1:"):
        everyday.problems.append(f"the simulator did not start (it printed {url!r})")
        return
    everyday.base_url = url
    threading.Thread(target=_count, args=(process, everyday), daemon=True).start()


def _count(process: subprocess.Popen[bytes], everyday: Everyday) -> None:
    """Drain the simulator's JSON lines (its pipe must never fill) and count the requests."""
    assert process.stdout is not None
    for line in process.stdout:
        with contextlib.suppress(ValueError, AttributeError):
            record = json.loads(line)
            everyday.requests[f"{record.get('command')} {record.get('outcome')}"] += 1


def _log_in(workdir: Path, home: Path, everyday: Everyday) -> None:
    """Store the demo account in the keyring the way a user would, with the real CLI."""
    assert everyday.base_url is not None
    env = child_env({**sandbox_env(home), **everyday.overrides})
    done = subprocess.run(
        [
            *clickatell_tray(),
            *("login", "--base-url", everyday.base_url),
            *("--api-id", DEMO_API_ID, "--user", DEMO_USER, "--password-stdin"),
        ],
        env=env,
        input=f"{DEMO_PASSWORD}\n".encode(),
        capture_output=True,
        timeout=STARTUP_TIMEOUT * 3,
        check=False,
    )
    if done.returncode != 0:
        everyday.problems.append(
            f"clickatell-tray login failed ({done.returncode}): "
            + done.stderr.decode(errors="replace").strip()[-300:]
        )


class _Answer(http.server.BaseHTTPRequestHandler):
    """What the stack floor's one HTTPS request gets: a short plain-text OK."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = b"OK: " + b"0" * 32
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _start_tls(workdir: Path, everyday: Everyday, stack: contextlib.ExitStack) -> None:
    """An HTTPS server on 127.0.0.1 with a certificate made for this run; None without openssl."""
    if shutil.which("openssl") is None:
        return
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    made = subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        capture_output=True,
        timeout=STARTUP_TIMEOUT * 3,
        check=False,
    )
    if made.returncode != 0:
        return
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stack.callback(server.server_close)
    stack.callback(server.shutdown)
    everyday.tls_url = f"https://127.0.0.1:{server.server_address[1]}"
    everyday.cafile = cert
