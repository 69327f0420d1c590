"""The HTTP side of the simulator: one request in, one answer out, the way the real API does it.

Status 200 and a one-line ``text/plain`` body ending in a newline, even for ``ERR:``. GET (query
string) and POST (form body) both work; a POST body's fields win over the query's. HTTP/1.1
keep-alive works, as on the real servers.
"""

from __future__ import annotations

import io
import json
import logging
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from tray_app.core.redact import mask_text
from tray_app.core.same_origin import refusal
from tray_app.sim import inbox
from tray_app.sim.commands import HTTP_COMMANDS, UTILS_COMMANDS, answer
from tray_app.sim.faults import HTML, PAGE_503, TEXT, check_kind
from tray_app.sim.model import check_share

if TYPE_CHECKING:
    from tray_app.sim.server import SimServer

logger = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
CONTROL_ENDPOINTS = ("expire", "faults", "stats", "credits")


class Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive like the real API.

    An answer goes out in one write: buffered (``wbufsize``), and sent whole when the request
    has been handled. Unbuffered, the headers and the body were two segments, and a client
    that had read the headers often slept again for the body: a second wake-up of the
    tray's worker for one ping, seen with ``perf`` on the scheduler's switches. Nagle is off
    too, so that an answer longer than the buffer never waits for the client's delayed ACK
    (40 ms on loopback).
    """

    protocol_version = "HTTP/1.1"
    wbufsize = io.DEFAULT_BUFFER_SIZE
    disable_nagle_algorithm = True
    server_version = "ClickatellSimulator"
    timeout = 60
    server: SimServer

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
        section, _, name = url.path.strip("/").partition("/")
        if section == "sim" and not self._same_origin():
            return
        params = self._params(url.query)
        if params is None:
            return
        if section == "sim" and name in ("", "inbox.css"):
            self._inbox(name)
        elif section == "http" and name in HTTP_COMMANDS:
            self._api(name, params)
        elif section == "utils" and name in UTILS_COMMANDS:
            self._api(UTILS_COMMANDS[name], params)
        elif section == "sim" and name in CONTROL_ENDPOINTS:
            self._control(name, params)
        else:
            self._send(404, "Not found\n")

    def _same_origin(self) -> bool:
        """Refuse a /sim/ request that a foreign web page (or a rebinding name) sent; see
        ``core.same_origin``. Nothing of the request body is read before this check."""
        server = self.server
        headers = {key.lower(): value for key, value in self.headers.items()}
        reason = refusal(
            headers,
            hosts=server.names,
            port=server.server_port,
            has_body=self.headers.get("Content-Length", "0").strip() not in ("", "0"),
        )
        if reason is None:
            return True
        self.close_connection = True
        self._send(403, f"Forbidden: {reason}\n")
        return False

    def _inbox(self, name: str) -> None:
        if self.command != "GET":
            self._send(405, "Use GET\n", headers={"Allow": "GET"})
        elif name:
            self._send(200, inbox.CSS, "text/css; charset=utf-8", inbox.HEADERS)
        else:
            page = inbox.render(self.server.simulator.model)
            self._send(200, page, "text/html; charset=utf-8", inbox.HEADERS)

    def _params(self, query: str) -> dict[str, str] | None:
        """Query and form fields merged, or None after refusing a body it cannot read.

        A GET's body is read and ignored (one client library sends its parameters as JSON
        in a GET body as well as in the query), so that it cannot spill into the next
        request on a kept-alive connection.
        """
        fields = parse_qs(query, keep_blank_values=True)
        if "Transfer-Encoding" in self.headers:
            self.close_connection = True
            self._send(411, "Content-Length required\n")
            return None
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            self._send(413, "Body too large or bad Content-Length\n")
            return None
        body = self.rfile.read(length).decode("utf-8", errors="replace")
        if self.command == "POST":
            fields.update(parse_qs(body, keep_blank_values=True))
        return {key: values[0] for key, values in fields.items()}

    def _api(self, command: str, params: dict[str, str]) -> None:
        sim = self.server.simulator
        fault = sim.faults.take()
        if fault is not None and fault.kind == "hang":
            sim.record(command, "fault hang")
            sim.wait(fault.seconds)
            self.close_connection = True
            return
        if not sim.wait(sim.faults.latency):
            self.close_connection = True
            return
        if fault is None:
            result = answer(sim.model, command, params, log_text=sim.log_text)
            sim.record(command, result.outcome, result.fields)
            self._send(200, result.body + "\n")
            return
        sim.record(command, f"fault {fault.kind}")
        if fault.kind == "503":
            self._send(503, PAGE_503, HTML)
        elif fault.kind == "garbage":
            content_type, body = sim.faults.garbage()
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
        elif name == "credits":
            try:
                balances = self._top_up(params)
            except ValueError as error:
                self._send(400, f"ERR: {error}\n")
            else:
                self._send(200, json.dumps(balances) + "\n", "application/json")
        else:
            try:
                self._set_faults(params)
            except ValueError as error:
                self._send(400, f"ERR: {error}\n")
            else:
                self._send(200, "OK\n")

    def _top_up(self, params: dict[str, str]) -> dict[str, float]:
        """/sim/credits: ``add`` credits to, or set the ``balance`` of, the account named by
        ``api_id`` and ``user`` (every account without them); answers the new balances."""
        add, balance = (float(params[k]) if params.get(k) else None for k in ("add", "balance"))
        api_id, user = params.get("api_id", ""), params.get("user", "")
        if bool(api_id) != bool(user):
            raise ValueError("name an account with both api_id and user, or neither")
        account = (api_id, user) if api_id else None
        balances = self.server.simulator.model.top_up(add=add, balance=balance, account=account)
        return {f"{key[0]}/{key[1]}": value for key, value in balances.items()}

    def _set_faults(self, params: dict[str, str]) -> None:
        """Apply /sim/faults all or nothing: every value is checked before any takes effect."""
        sim = self.server.simulator
        latency, fault_rate, delivery = (
            float(params[k]) if params.get(k) else None
            for k in ("latency", "fault_rate", "delivery_failure_rate")
        )
        kind = params.get("next_fault")
        if kind:
            check_kind(kind)
        if delivery is not None:
            check_share("delivery_failure_rate", delivery)
        sim.set_faults(latency=latency, fault_rate=fault_rate)
        if delivery is not None:
            sim.model.set_failure_rate(delivery)
        if kind:
            sim.force_next_fault(kind)

    def _send(
        self,
        status: int,
        body: str,
        content_type: str = TEXT,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:  # so that a client never reuses a connection we close
            self.send_header("Connection", "close")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
