"""A local stand-in for the Clickatell legacy HTTP/S API, with faults on demand.

It answers ``/http/auth``, ``/http/ping`` and ``/http/getbalance`` the way the real
servers do (status 200 and a one-line ``text/plain`` body ending in a newline, even for
``ERR:``), so that the tray's ``--demo``, the CLI and the end-to-end tests talk real HTTP
to it on a loopback port.

What a client under test can rely on:

* GET (query string) and POST (form body) both work; a POST body's fields win over the
  query's. HTTP/1.1 keep-alive works, as on the real servers.
* A session ID is 32 lowercase hex characters. It dies ``lifetime`` seconds (900 by
  default, on the injected clock's wall time) after the last request that used it, and a
  dead session is forgotten, so it answers ``003`` like one that never existed.
* ``auth`` answers ``101`` when ``user`` or ``password`` is missing, ``108`` when the
  ``api_id`` is missing or belongs to no account, ``001`` for a wrong user or password,
  and ``004`` for a frozen account (checked only after the password, so a wrong password
  never learns whether an account is frozen).
* ``getbalance`` takes a ``session_id`` or, as the real API allows, the credentials on
  the call itself; with neither it answers ``005``.
* Faults (``latency``, ``fault_rate``, ``force_next_fault``) hit only ``/http/`` calls,
  never the control endpoints below. A ``hang`` waits and then drops the connection.

Control endpoints, which are **not** part of the Clickatell API and exist only so that
another process (an end-to-end test, a person with curl) can steer a running simulator:

* ``POST /sim/expire`` forgets every session now; answers ``OK``.
* ``POST /sim/faults`` with any of the form fields ``latency`` (seconds), ``fault_rate``
  (0..1) and ``next_fault`` (``503``, ``garbage``, ``drop`` or ``hang``); answers ``OK``,
  or status 400 and changes nothing when a value is invalid.
* ``GET /sim/stats`` answers JSON ``{command: {outcome: count}}``.

It is a test tool: it refuses to listen on anything but loopback unless told
``allow_remote=True``, and it never logs a password (the standard stderr access log is
replaced by a masked debug log).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import random
import secrets
import socket
import socketserver
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tray_app.core.clock import Clock, SystemClock
from tray_app.core.demo import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER
from tray_app.core.protocol import is_loopback_host
from tray_app.core.redact import mask_text

logger = logging.getLogger(__name__)


API_COMMANDS = ("auth", "ping", "getbalance")
FAULT_KINDS = ("503", "garbage", "drop", "hang")
_RANDOM_FAULTS = ("503", "garbage", "drop")
_DEFAULT_HANG = 30.0
_IDLE_POLL = 3600.0
_MAX_BODY = 64 * 1024
_TEXT = "text/plain; charset=utf-8"
_HTML = "text/html; charset=utf-8"
# No letters, so random junk can never read as "OK", "ERR" or "Credit".
_JUNK = "0123456789#$%&*+-/;<=>?@[]^_{|}~ "

_ERRORS = {
    "001": "Authentication failed",
    "003": "Session ID expired",
    "004": "Account frozen",
    "005": "Missing session ID",
    "101": "Invalid or missing parameters",
    "108": "Invalid or missing api_id",
}

_PAGE_503 = (
    "<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head>"
    "<body><h1>Service Unavailable</h1><p>The server is temporarily unable to service "
    "your request.</p></body></html>\n"
)
_PAGE_GARBAGE = (
    "<html><head><title>Gateway</title></head><body><p>Please wait while we check "
    "your browser&hellip;</p></body></html>\n"
)

Record = dict[str, str]


@dataclass(frozen=True, slots=True)
class Account:
    """An API login the simulator accepts; the password stays out of ``repr`` and so out of logs."""

    api_id: str
    user: str
    password: str = field(repr=False)
    balance: float = 42.5
    frozen: bool = False


@dataclass(slots=True)
class _Session:
    account: Account
    last_used: float


@dataclass(frozen=True, slots=True)
class _Fault:
    kind: str
    seconds: float = 0.0


def _error(code: str) -> tuple[str, str]:
    return f"ERR {code}", f"ERR: {code}, {_ERRORS[code]}"


def _check_seconds(name: str, value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number of seconds >= 0, not {value!r}")


def _check_kind(kind: str) -> None:
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}")


class Simulator:
    """A real HTTP server on loopback that keeps sessions the way Clickatell's servers do.

    The socket is bound on construction, so ``base_url`` holds the real port at once, even
    for ``port=0``. ``on_request`` runs on the server's request threads, before the client
    gets its answer, so a test that has its response also has the record.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        lifetime: float = 900.0,
        accounts: Iterable[Account] | None = None,
        clock: Clock | None = None,
        fault_rate: float = 0.0,
        latency: float = 0.0,
        seed: int | None = None,
        bare_ping_ok: bool = False,
        on_request: Callable[[Record], None] | None = None,
        allow_remote: bool = False,
    ) -> None:
        if not allow_remote and not is_loopback_host(host):
            raise ValueError(
                f"refusing to listen on {host!r}: the simulator is a test tool and serves "
                "loopback only unless allow_remote=True"
            )
        if not (math.isfinite(lifetime) and lifetime > 0):
            raise ValueError(f"lifetime must be a positive number of seconds, not {lifetime!r}")
        self.lifetime = lifetime
        self.bare_ping_ok = bare_ping_ok
        self._clock: Clock = clock or SystemClock()
        self._on_request = on_request
        self._lock = threading.Lock()
        self._accounts: dict[tuple[str, str], Account] = {}
        for account in (
            [Account(DEMO_API_ID, DEMO_USER, DEMO_PASSWORD)] if accounts is None else accounts
        ):
            key = (account.api_id, account.user)
            if key in self._accounts:
                raise ValueError(f"duplicate account: api_id {key[0]!r}, user {key[1]!r}")
            self._accounts[key] = account
        self._api_ids = {api_id for api_id, _ in self._accounts}
        self._sessions: dict[str, _Session] = {}
        self._counts: Counter[tuple[str, str]] = Counter()
        self._random = random.Random(seed)
        self._latency = 0.0
        self._fault_rate = 0.0
        self._next_fault: _Fault | None = None
        self.set_faults(latency=latency, fault_rate=fault_rate)
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._life_lock = threading.Lock()
        self._closed = False
        self._thread: threading.Thread | None = None
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._server = _Server((host, port), family, self)

    @property
    def base_url(self) -> str:
        """Where clients reach it, with the real port even when bound to port 0."""
        host, port = self._address()
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}"

    def _address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return (host.decode() if isinstance(host, bytes | bytearray) else host), int(port)

    @property
    def latency(self) -> float:
        with self._lock:
            return self._latency

    @property
    def fault_rate(self) -> float:
        with self._lock:
            return self._fault_rate

    def start(self) -> Simulator:
        """Serve on a daemon thread, so a forgotten simulator never keeps a test run alive."""
        with self._life_lock:
            if self._closed:
                raise RuntimeError("a stopped simulator cannot be started again")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._server.serve_forever,
                    kwargs={"poll_interval": _IDLE_POLL},
                    name=f"simulator {self.base_url}",
                    daemon=True,
                )
                self._thread.start()
        return self

    def _shut_down_now(self, thread: threading.Thread) -> None:
        """Stop the serving loop without waiting out its idle poll.

        The loop sleeps in ``select`` for up to ``_IDLE_POLL`` seconds (so an idle
        demo costs no CPU); a connection to our own socket wakes it to see the request.
        """
        request = threading.Thread(target=self._server.shutdown, daemon=True)
        request.start()
        while thread.is_alive():
            with (
                contextlib.suppress(OSError),
                socket.create_connection(self._address(), timeout=1.0),
            ):
                pass
            thread.join(0.05)
        request.join()

    def serve_forever(self) -> None:
        """Block until ``stop()``; waits in short slices so Ctrl-C gets through on every OS."""
        self.start()
        try:
            while not self._stopped.wait(0.5):
                pass
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop serving and close every socket; requests caught waiting are dropped at once."""
        with self._life_lock:
            if self._closed:
                return
            self._closed = True
        self._stopping.set()
        if self._thread is not None:
            self._shut_down_now(self._thread)
        self._server.close_connections()
        self._server.server_close()
        self._stopped.set()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def expire_all(self) -> None:
        """Forget every session now, as a server restart or a long sleep would."""
        with self._lock:
            self._sessions.clear()

    def set_faults(self, *, latency: float | None = None, fault_rate: float | None = None) -> None:
        """Change the faults for the requests that arrive from now on; ``None`` keeps a value."""
        if latency is not None:
            _check_seconds("latency", latency)
        if fault_rate is not None and not 0.0 <= fault_rate <= 1.0:
            raise ValueError(f"fault_rate must be between 0 and 1, not {fault_rate!r}")
        with self._lock:
            if latency is not None:
                self._latency = latency
            if fault_rate is not None:
                self._fault_rate = fault_rate

    def force_next_fault(self, kind: str, seconds: float | None = None) -> None:
        """Give the next API request this fault, so a test need not fish for it with a rate.

        A ``hang`` waits ``seconds`` (default: the latency, or 30 s without one) and then
        drops the connection, long enough for a client's own timeout to fire first.
        """
        _check_kind(kind)
        if seconds is not None:
            _check_seconds("seconds", seconds)
        with self._lock:
            if kind == "hang" and seconds is None:
                seconds = self._latency or _DEFAULT_HANG
            self._next_fault = _Fault(kind, seconds or 0.0)

    def session_ids(self) -> list[str]:
        """The sessions still alive now."""
        now = self._clock.wall()
        with self._lock:
            self._forget_expired(now)
            return list(self._sessions)

    def count(self, command: str, outcome: str | None = None) -> int:
        """How many API requests for ``command`` were served, with this outcome if given."""
        with self._lock:
            return sum(
                n for (c, o), n in self._counts.items() if c == command and outcome in (None, o)
            )

    def stats(self) -> dict[str, dict[str, int]]:
        """Counts per command and outcome, e.g. ``{"ping": {"ok": 3, "ERR 003": 1}}``."""
        result: dict[str, dict[str, int]] = {}
        with self._lock:
            for (command, outcome), n in sorted(self._counts.items()):
                result.setdefault(command, {})[outcome] = n
        return result

    def _take_fault(self) -> _Fault | None:
        with self._lock:
            if self._next_fault is not None:
                fault, self._next_fault = self._next_fault, None
                return fault
            if self._fault_rate > 0 and self._random.random() < self._fault_rate:
                return _Fault(self._random.choice(_RANDOM_FAULTS))
            return None

    def _garbage(self) -> tuple[str, str]:
        """A body no parser should accept: an HTML page, letterless junk, or nothing."""
        with self._lock:
            pick = self._random.randrange(3)
            junk = "".join(self._random.choices(_JUNK, k=self._random.randint(8, 64)))
        if pick == 0:
            return _HTML, _PAGE_GARBAGE
        if pick == 1:
            return _TEXT, junk
        return _TEXT, ""

    def _wait(self, seconds: float) -> bool:
        """Sleep unless stopping; False means stop() came first and the request must go."""
        return not self._stopping.wait(seconds)

    def _record(self, command: str, outcome: str) -> None:
        with self._lock:
            self._counts[(command, outcome)] += 1
        if self._on_request is not None:
            try:
                self._on_request({"command": command, "outcome": outcome})
            except Exception:
                logger.exception("on_request callback failed")

    def _answer(self, command: str, params: dict[str, str]) -> tuple[str, str]:
        """The outcome and the body (without newline) of one API command."""
        now = self._clock.wall()
        with self._lock:
            self._forget_expired(now)
            if command == "auth":
                account = self._login(params)
                if isinstance(account, str):
                    return _error(account)
                session_id = secrets.token_hex(16)
                self._sessions[session_id] = _Session(account, now)
                return "ok", f"OK: {session_id}"
            if command == "ping":
                session = self._use_session(params, now)
                if isinstance(session, str):
                    return _error(session)
                return "ok", "OK:" if self.bare_ping_ok else f"OK: {params['session_id']}"
            if "session_id" in params or not {"api_id", "user", "password"} & params.keys():
                found = self._use_session(params, now)
                account = found if isinstance(found, str) else found.account
            else:
                account = self._login(params)
            if isinstance(account, str):
                return _error(account)
            return "ok", f"Credit: {account.balance:.2f}"

    def _login(self, params: dict[str, str]) -> Account | str:
        """The account these credentials open, or the error code the real API would give."""
        user, password, api_id = (params.get(k, "") for k in ("user", "password", "api_id"))
        if not user or not password:
            return "101"
        if api_id not in self._api_ids:
            return "108"
        account = self._accounts.get((api_id, user))
        if account is None or account.password != password:
            return "001"
        if account.frozen:
            return "004"
        return account

    def _use_session(self, params: dict[str, str], now: float) -> _Session | str:
        """Find the session and re-arm it, since any call that uses an ID keeps it alive."""
        session_id = params.get("session_id", "")
        if not session_id:
            return "005"
        session = self._sessions.get(session_id)
        if session is None:
            return "003"
        session.last_used = now
        return session

    def _forget_expired(self, now: float) -> None:
        expired = [sid for sid, s in self._sessions.items() if now - s.last_used >= self.lifetime]
        for sid in expired:
            del self._sessions[sid]


class _Server(ThreadingHTTPServer):
    """Tracks open connections so that stop() can cut idle keep-alive ones too."""

    daemon_threads = True
    # socketserver's default backlog of 5 makes a burst of clients wait a second for a SYN retry.
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], family: socket.AddressFamily, simulator: Simulator
    ) -> None:
        self.address_family = family
        self.simulator = simulator
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup of the host, which can stall."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up are routine here (drop faults, timeouts): no stderr traceback."""
        logger.debug("request from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive like the real API.

    Nagle is off: headers and body go out in two writes, and the second would otherwise
    wait for the client's delayed ACK, 40 ms a request on loopback.
    """

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "ClickatellSimulator"
    timeout = 60
    server: _Server

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def version_string(self) -> str:
        """Name the simulator in the Server header without advertising the Python version."""
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """Replace the stderr access log: a GET's request line can carry a password."""
        logger.debug("%s %s", self.address_string(), mask_text(format % args))

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        params = self._params(url.query)
        if params is None:
            return
        section, _, name = url.path.strip("/").partition("/")
        if section == "http" and name in API_COMMANDS:
            self._api(name, params)
        elif section == "sim" and name in ("expire", "faults", "stats"):
            self._control(name, params)
        else:
            self._send(404, "Not found\n")

    def _params(self, query: str) -> dict[str, str] | None:
        """Query and form fields merged, or None after refusing a body it cannot read."""
        fields = parse_qs(query, keep_blank_values=True)
        if self.command == "POST":
            if "Transfer-Encoding" in self.headers:
                self.close_connection = True
                self._send(411, "Content-Length required\n")
                return None
            try:
                length = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                length = -1
            if not 0 <= length <= _MAX_BODY:
                self.close_connection = True
                self._send(413, "Body too large or bad Content-Length\n")
                return None
            body = self.rfile.read(length).decode("utf-8", errors="replace")
            fields.update(parse_qs(body, keep_blank_values=True))
        return {key: values[0] for key, values in fields.items()}

    def _api(self, command: str, params: dict[str, str]) -> None:
        sim = self.server.simulator
        fault = sim._take_fault()
        if fault is not None and fault.kind == "hang":
            sim._record(command, "fault hang")
            sim._wait(fault.seconds)
            self.close_connection = True
            return
        if not sim._wait(sim.latency):
            self.close_connection = True
            return
        if fault is None:
            outcome, body = sim._answer(command, params)
            sim._record(command, outcome)
            self._send(200, body + "\n")
            return
        sim._record(command, f"fault {fault.kind}")
        if fault.kind == "503":
            self._send(503, _PAGE_503, _HTML)
        elif fault.kind == "garbage":
            content_type, body = sim._garbage()
            self._send(200, body, content_type)
        else:
            self.close_connection = True

    def _control(self, name: str, params: dict[str, str]) -> None:
        sim = self.server.simulator
        wanted = "GET" if name == "stats" else "POST"
        if self.command != wanted:
            self._send(405, f"Use {wanted}\n", headers={"Allow": wanted})
        elif name == "stats":
            self._send(200, json.dumps(sim.stats()) + "\n", "application/json")
        elif name == "expire":
            sim.expire_all()
            self._send(200, "OK\n")
        else:
            try:
                self._set_faults(params)
            except ValueError as error:
                self._send(400, f"ERR: {error}\n")
            else:
                self._send(200, "OK\n")

    def _set_faults(self, params: dict[str, str]) -> None:
        """Apply /sim/faults all or nothing: every value is checked before any takes effect."""
        sim = self.server.simulator
        latency, fault_rate = (
            float(params[k]) if params.get(k) else None for k in ("latency", "fault_rate")
        )
        kind = params.get("next_fault")
        if kind:
            _check_kind(kind)
        sim.set_faults(latency=latency, fault_rate=fault_rate)
        if kind:
            sim.force_next_fault(kind)

    def _send(
        self,
        status: int,
        body: str,
        content_type: str = _TEXT,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
