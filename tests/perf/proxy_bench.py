"""The local proxy's cost: latency added per call on loopback, and calls per second.

Three processes, as in real use: ``clickatell-tray simulate`` (the API), a headless owner
with the proxy (:mod:`tests.perf.proxy_owner`), and this one, the client. Each sample is a
``ping`` on a kept-alive connection, straight to the simulator with a session of its own
and through the proxy with no ID, alternating so that both see the same machine; the
figure is the difference of the medians. Throughput is 20 client threads, each with its
own connection, calling as fast as answers come, straight and through the proxy. The
client threads share this process's interpreter, so calls per second are a floor for the
proxy, not its ceiling; the two rows compare like with like.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.perf.report import INFO, Row, fmt, ratio_text, verdict
from tests.perf.section import Plan, Result, progress
from tray_app.sim.server import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER

TARGET_ADDED_MS = 0.5
CLIENTS = 20
START_TIMEOUT = 30.0


@contextmanager
def _servers() -> Iterator[tuple[str, str]]:
    """The simulator's base URL and the proxy's URL, each in a process of its own."""
    sim = subprocess.Popen(
        [sys.executable, "-m", "tray_app", "simulate"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    owner: subprocess.Popen[str] | None = None
    try:
        assert sim.stdout is not None
        base_url = sim.stdout.readline().strip()
        # The simulator prints one line per request: read them away so that it never blocks.
        threading.Thread(target=lambda: sum(1 for _ in sim.stdout or ()), daemon=True).start()
        owner = subprocess.Popen(
            [sys.executable, "-m", "tests.perf.proxy_owner", base_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert owner.stdout is not None
        line = owner.stdout.readline().strip()
        if not line.startswith("proxy: "):
            raise RuntimeError("the proxy owner did not start")
        yield base_url, line.removeprefix("proxy: ")
    finally:
        for process in (owner, sim):
            if process is not None:
                process.terminate()
                process.wait(timeout=15)


def _direct_session(base_url: str) -> str:
    import requests

    answer = requests.post(
        f"{base_url}/http/auth",
        data={"api_id": DEMO_API_ID, "user": DEMO_USER, "password": DEMO_PASSWORD},
        timeout=10,
    ).text
    return answer.split()[1]


def _caller(url: str, form: dict[str, str]) -> Any:
    """A function that makes one ping on its own kept-alive connection; True if it was OK."""
    import requests

    http = requests.Session()
    http.trust_env = False

    def call() -> bool:
        return http.post(url, data=form, timeout=20).text.startswith("OK")

    return call


def latency(base_url: str, proxy_url: str, samples: int, warmup: int) -> dict[str, Any]:
    session_id = _direct_session(base_url)
    direct = _caller(f"{base_url}/http/ping", {"session_id": session_id})
    proxied = _caller(f"{proxy_url}/http/ping", {})
    times: dict[str, list[float]] = {"direct": [], "proxy": []}
    failed = 0
    for index in range(warmup + samples):
        for name, call in (("direct", direct), ("proxy", proxied)):
            started = time.perf_counter_ns()
            ok = call()
            elapsed = (time.perf_counter_ns() - started) / 1e6
            failed += not ok
            if index >= warmup:
                times[name].append(elapsed)
    direct_ms = statistics.median(times["direct"])
    proxy_ms = statistics.median(times["proxy"])
    return {
        "samples": samples,
        "direct_ms": direct_ms,
        "proxy_ms": proxy_ms,
        "added_ms": proxy_ms - direct_ms,
        "failed": failed,
    }


def _calls_per_second(url: str, form: dict[str, str], calls_each: int) -> tuple[float, int]:
    callers = [_caller(url, form) for _ in range(CLIENTS)]
    start = threading.Barrier(CLIENTS + 1)
    failures: list[int] = []

    def client(call: Any) -> None:
        call()  # connect first: the figure is calls, not handshakes
        start.wait()
        failures.append(sum(not call() for _ in range(calls_each)))

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in callers]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    return CLIENTS * calls_each / seconds, sum(failures)


def throughput(base_url: str, proxy_url: str, calls_each: int) -> dict[str, Any]:
    session_id = _direct_session(base_url)
    direct, direct_failed = _calls_per_second(
        f"{base_url}/http/ping", {"session_id": session_id}, calls_each
    )
    proxied, proxy_failed = _calls_per_second(f"{proxy_url}/http/ping", {}, calls_each)
    return {
        "clients": CLIENTS,
        "calls": CLIENTS * calls_each,
        "direct_per_s": direct,
        "proxy_per_s": proxied,
        "failed": direct_failed + proxy_failed,
    }


def run(plan: Plan) -> Result:
    samples, warmup, calls_each = (30, 5, 5) if plan.quick else (400, 30, 100)
    progress(f"proxy: {samples} pings straight and through the proxy, then {CLIENTS} clients")
    try:
        with _servers() as (base_url, proxy_url):
            timed = latency(base_url, proxy_url, samples, warmup)
            load = throughput(base_url, proxy_url, calls_each)
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        return Result(
            notes=[f"proxy benchmark not measured: {exc}"],
            missing=["proxy_added_latency_ms", "proxy_calls_per_second"],
        )
    figures = {
        "proxy_added_latency_ms": timed["added_ms"],
        "proxy_calls_per_second": load["proxy_per_s"],
    }
    rows = [
        Row(
            "proxy: latency added per call, loopback (ms)",
            fmt(timed["added_ms"], 3),
            f"{fmt(timed['direct_ms'], 3)} direct, {fmt(timed['proxy_ms'], 3)} via proxy",
            "",
            f"≤ {TARGET_ADDED_MS} ms",
            verdict(timed["added_ms"] <= TARGET_ADDED_MS and timed["failed"] == 0),
        ),
        Row(
            f"proxy: calls/s, {CLIENTS} concurrent clients",
            fmt(load["proxy_per_s"], 0),
            f"{fmt(load['direct_per_s'], 0)} direct",
            ratio_text(load["proxy_per_s"] / load["direct_per_s"]),
            "figure only",
            INFO if load["failed"] == 0 else verdict(False),
        ),
    ]
    notes = []
    if timed["failed"] or load["failed"]:
        notes.append(f"proxy: {timed['failed'] + load['failed']} calls did not answer OK")
    return Result(
        figures=figures,
        details={"proxy": {"latency": timed, "throughput": load}},
        rows=rows,
        notes=notes,
    )
