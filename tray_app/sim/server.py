"""A local stand-in for the Clickatell legacy HTTP/S API, with faults on demand.

``Simulator`` is the public face: it owns the model (``model.py``), the faults (``faults.py``)
and a real HTTP server on a loopback port whose handler (``handler.py``) speaks the API, so
that the tray's ``--demo``, the CLI and the end-to-end tests talk real HTTP to it.

What a client under test can rely on:

* ``auth`` answers ``101`` when ``user`` or ``password`` is missing, ``108`` when the
  ``api_id`` is missing or belongs to no account, ``001`` for a wrong user or password,
  and ``004`` for a frozen account.
* ``getbalance``, ``sendmsg``, ``querymsg``, ``delmsg``, ``getmsgcharge`` and
  ``/utils/routeCoverage`` take a ``session_id`` or, as the real API allows, the credentials
  on the call itself; with neither they answer ``005`` (``commands.py`` has the details).
* Messages move through their statuses on the injected clock (``messages.py``); callbacks
  are not posted anywhere.

``GET /sim/`` is the inbox page (``inbox.py``): what was sent, to whom, with its status.
Every ``/sim/`` path is same-origin only (``core.same_origin``): a foreign page or Host gets 403.

Control endpoints, which are **not** part of the Clickatell API and exist only so that
another process (an end-to-end test, a person with curl) can steer a running simulator:

* ``POST /sim/expire`` forgets every session now; answers ``OK``.
* ``POST /sim/faults`` with any of the form fields ``latency`` (seconds), ``fault_rate``
  (0..1), ``next_fault`` (``503``, ``garbage``, ``drop`` or ``hang``) and
  ``delivery_failure_rate`` (0..1, the share of messages sent from then on whose delivery
  fails); answers ``OK``, or status 400 and changes nothing when a value is invalid.
* ``GET /sim/stats`` answers JSON ``{command: {outcome: count}}``.
* ``POST /sim/credits`` with ``add`` (credits, may be negative) or ``balance``, and
  optionally ``api_id`` and ``user`` to pick one account (else every account); answers the
  new balances as JSON ``{"api_id/user": credits}``.

It is a test tool: it refuses to listen on anything but loopback unless told
``allow_remote=True``, and it never logs a password (the standard stderr access log is
replaced by a masked debug log).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from types import TracebackType

from tray_app.core.clock import Clock, SystemClock
from tray_app.core.demo import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER
from tray_app.core.http_serving import TrackedHTTPServer
from tray_app.core.os_threads import NamedThread
from tray_app.core.protocol import is_loopback_host
from tray_app.sim.faults import FAULT_KINDS, Faults
from tray_app.sim.handler import Handler
from tray_app.sim.messages import DEFAULT_MAX_MESSAGES, Lifecycle
from tray_app.sim.model import Account, Model

__all__ = [
    "DEMO_API_ID",
    "DEMO_PASSWORD",
    "DEMO_USER",
    "FAULT_KINDS",
    "Account",
    "Record",
    "Simulator",
]

logger = logging.getLogger(__name__)

_IDLE_POLL = 3600.0

Record = dict[str, object]


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
        charge: float = 1.0,
        failure_rate: float = 0.0,
        to_gateway: float = 1.0,
        to_handset: float = 3.0,
        max_messages: int = DEFAULT_MAX_MESSAGES,
        log_text: bool = False,
        max_connections: int | None = None,
    ) -> None:
        if not allow_remote and not is_loopback_host(host):
            raise ValueError(
                f"refusing to listen on {host!r}: the simulator is a test tool and serves "
                "loopback only unless allow_remote=True"
            )
        self.model = Model(
            accounts,
            clock or SystemClock(),
            lifetime=lifetime,
            bare_ping_ok=bare_ping_ok,
            charge=charge,
            failure_rate=failure_rate,
            lifecycle=Lifecycle(to_gateway, to_handset),
            max_messages=max_messages,
            seed=seed,
        )
        self.log_text = log_text
        self.faults = Faults(latency=latency, fault_rate=fault_rate, seed=seed)
        self._on_request = on_request
        self._counts_lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._life_lock = threading.Lock()
        self._closed = False
        self._thread: threading.Thread | None = None
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._server = SimServer((host, port), family, self)
        if max_connections is not None:
            self._server.max_connections = max_connections

    @property
    def lifetime(self) -> float:
        return self.model.lifetime

    @lifetime.setter
    def lifetime(self, seconds: float) -> None:
        self.model.lifetime = seconds

    @property
    def bare_ping_ok(self) -> bool:
        """Answer a ping with a bare ``OK:``, as some of Clickatell's servers are said to."""
        return self.model.bare_ping_ok

    @bare_ping_ok.setter
    def bare_ping_ok(self, value: bool) -> None:
        self.model.bare_ping_ok = value

    @property
    def base_url(self) -> str:
        """Where clients reach it, with the real port even when bound to port 0."""
        host, port = self._server.server_name, self._server.server_port
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}"

    @property
    def latency(self) -> float:
        return self.faults.latency

    @property
    def fault_rate(self) -> float:
        return self.faults.fault_rate

    def start(self) -> Simulator:
        """Serve on a daemon thread, so a forgotten simulator never keeps a test run alive."""
        with self._life_lock:
            if self._closed:
                raise RuntimeError("a stopped simulator cannot be started again")
            if self._thread is None:
                self._thread = NamedThread(
                    target=self._server.serve_forever,
                    kwargs={"poll_interval": _IDLE_POLL},
                    name="simulator",
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
                socket.create_connection(
                    (self._server.server_name, self._server.server_port), timeout=1.0
                ),
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
        self.model.expire_all()

    def set_faults(self, *, latency: float | None = None, fault_rate: float | None = None) -> None:
        """Change the faults for the requests that arrive from now on; ``None`` keeps a value."""
        self.faults.set(latency=latency, fault_rate=fault_rate)

    def force_next_fault(self, kind: str, seconds: float | None = None) -> None:
        """Give the next API request this fault, so a test need not fish for it with a rate.

        A ``hang`` waits ``seconds`` (default: the latency, or 30 s without one) and then
        drops the connection, long enough for a client's own timeout to fire first.
        """
        self.faults.force_next(kind, seconds)

    def session_ids(self) -> list[str]:
        """The sessions still alive now."""
        return self.model.session_ids()

    def count(self, command: str, outcome: str | None = None) -> int:
        """How many API requests for ``command`` were served, with this outcome if given."""
        with self._counts_lock:
            return sum(
                n for (c, o), n in self._counts.items() if c == command and outcome in (None, o)
            )

    def stats(self) -> dict[str, dict[str, int]]:
        """Counts per command and outcome, e.g. ``{"ping": {"ok": 3, "ERR 003": 1}}``."""
        result: dict[str, dict[str, int]] = {}
        with self._counts_lock:
            for (command, outcome), n in sorted(self._counts.items()):
                result.setdefault(command, {})[outcome] = n
        return result

    def wait(self, seconds: float) -> bool:
        """Sleep unless stopping; False means stop() came first and the request must go."""
        return not self._stopping.wait(seconds)

    def record(self, command: str, outcome: str, fields: dict[str, object] | None = None) -> None:
        """Count one served API request and hand its record to ``on_request``."""
        with self._counts_lock:
            self._counts[(command, outcome)] += 1
        if self._on_request is not None:
            try:
                self._on_request({"command": command, "outcome": outcome, **(fields or {})})
            except Exception:
                logger.exception("on_request callback failed")


class SimServer(TrackedHTTPServer):
    """The simulator's server; tracks open connections so that stop() can cut them too."""

    connection_thread_name = "sim-connection"

    def __init__(
        self, address: tuple[str, int], family: socket.AddressFamily, simulator: Simulator
    ) -> None:
        self.address_family = family
        self.simulator = simulator
        # The names the control pages answer to; any, for a server opened to the network.
        self.names: list[str] | None = None
        super().__init__(address, Handler)

    def server_bind(self) -> None:
        super().server_bind()
        if is_loopback_host(self.server_name):
            literal = f"[{self.server_name}]" if ":" in self.server_name else self.server_name
            self.names = [literal, "localhost"]
