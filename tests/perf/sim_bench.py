"""The simulator under load: ``sendmsg`` requests a second from 20 clients, and its memory.

Both run against ``clickatell-tray simulate`` as a child process, as a user runs it: the
throughput with 20 threads, each on its own kept-alive connection (``http.client``, the
lightest client, so that the figure is the server's rather than the client's), and the
resident memory after 100 000 messages (sent 100 recipients a request), sampled on the way:
the simulator keeps its newest 10 000 messages, so the memory stays flat past that point.
The clients share the machine's cores with the server, so the throughput is a floor.
"""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import sys
import threading
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

from tests.perf.procs import rss_kib
from tests.perf.report import INFO, Row, fmt, verdict
from tests.perf.section import Plan, Result, progress
from tray_app.core.demo import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER
from tray_app.sim.messages import DEFAULT_MAX_MESSAGES

CLIENTS = 20
CREDENTIALS = {"api_id": DEMO_API_ID, "user": DEMO_USER, "password": DEMO_PASSWORD}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
TARGET_GROWTH_KIB = 5 * 1024  # past the message limit, RSS may not keep climbing


class _Simulate:
    """``clickatell-tray simulate`` with its log thrown away and unlimited credits."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tray_app", "simulate"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        url = urlsplit(self.process.stdout.readline().strip())
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        # Drain the one-line-per-request log, as a terminal would.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()
        status, _ = self.post("/sim/credits", {"balance": "1e12"})
        assert status == 200, status

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=30)

    def post(self, path: str, fields: dict[str, str]) -> tuple[int, bytes]:
        connection = self.connection()
        try:
            connection.request("POST", path, urlencode(fields), FORM)
            answer = connection.getresponse()
            return answer.status, answer.read()
        finally:
            connection.close()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _client(server: _Simulate, requests: int, counts: list[int], errors: list[str]) -> None:
    body = urlencode({**CREDENTIALS, "to": "27820000001", "text": "load test"})
    connection = server.connection()
    done = 0
    try:
        for _ in range(requests):
            connection.request("POST", "/http/sendmsg", body, FORM)
            answer = connection.getresponse().read()
            if not answer.startswith(b"ID: "):
                errors.append(answer[:80].decode(errors="replace"))
                break
            done += 1
    except OSError as exc:
        errors.append(repr(exc))
    finally:
        connection.close()
        counts.append(done)


def throughput(server: _Simulate, per_client: int) -> dict[str, Any]:
    """``sendmsg`` requests a second with ``CLIENTS`` concurrent kept-alive clients."""
    counts: list[int] = []
    errors: list[str] = []
    threads = [
        threading.Thread(target=_client, args=(server, per_client, counts, errors))
        for _ in range(CLIENTS)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    total = sum(counts)
    return {
        "clients": CLIENTS,
        "requests": total,
        "seconds": elapsed,
        "requests_per_s": total / elapsed if elapsed > 0 else None,
        "errors": errors[:3],
    }


def memory(server: _Simulate, messages: int) -> dict[str, Any]:
    """RSS after sending ``messages`` messages, 100 recipients a request, sampled each 10 %."""
    recipients = ",".join(f"2782{n:07d}" for n in range(100))
    body = urlencode({**CREDENTIALS, "to": recipients, "text": "memory test " * 8})
    connection = server.connection()
    samples: list[tuple[int, int]] = [(0, rss_kib(server.process.pid))]
    sent = 0
    try:
        while sent < messages:
            connection.request("POST", "/http/sendmsg", body, FORM)
            answer = connection.getresponse().read()
            if answer.count(b"ID: ") != 100:
                raise RuntimeError(f"sendmsg refused: {answer[:80]!r}")
            sent += 100
            if sent % max(100, messages // 10) == 0:
                samples.append((sent, rss_kib(server.process.pid)))
    finally:
        connection.close()
    at_limit = min(samples, key=lambda s: abs(s[0] - DEFAULT_MAX_MESSAGES))
    return {
        "messages": sent,
        "limit": DEFAULT_MAX_MESSAGES,
        "rss_kib_start": samples[0][1],
        "rss_kib_at_limit": at_limit[1],
        "rss_kib_end": samples[-1][1],
        "samples": samples,
    }


def run(plan: Plan) -> Result:
    per_client, messages = (20, 20_000) if plan.quick else (250, 100_000)
    server = _Simulate()
    try:
        progress(f"simulator: {CLIENTS} clients, {per_client} sendmsg each")
        load = throughput(server, per_client)
        progress(f"simulator: RSS over {messages} messages")
        rss = memory(server, messages)
    finally:
        server.stop()
    growth = rss["rss_kib_end"] - rss["rss_kib_at_limit"]
    figures = {
        "simulator": {
            "sendmsg_per_s_20_clients": load["requests_per_s"],
            "rss_mib_after_messages": rss["rss_kib_end"] / 1024,
            "messages_sent": rss["messages"],
            "rss_growth_past_limit_kib": growth,
        }
    }
    rows = [
        Row(
            f"simulator sendmsg, {CLIENTS} concurrent clients",
            f"{fmt(load['requests_per_s'], 0)} req/s ({load['requests']} requests)",
            "",
            "",
            "figure",
            INFO if not load["errors"] else "MISS",
        ),
        Row(
            f"simulator RSS after {rss['messages']:,} messages".replace(",", " "),
            f"{fmt(rss['rss_kib_end'] / 1024)} MiB",
            f"{fmt(rss['rss_kib_at_limit'] / 1024)} MiB at {rss['limit']:,}".replace(",", " "),
            "",
            "bounded: < 5 MiB more past the limit",
            verdict(growth < TARGET_GROWTH_KIB),
        ),
    ]
    notes = [f"simulator load errors: {load['errors']}"] if load["errors"] else []
    return Result(
        figures=figures,
        details={"simulator": {"load": load, "rss": rss}},
        rows=rows,
        notes=notes,
        missing=["simulator throughput"] if load["errors"] else [],
    )


if __name__ == "__main__":
    print(json.dumps(run(Plan.fast()).figures, indent=2))
