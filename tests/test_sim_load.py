"""Load shedding (issue: the simulator spun at 100 % CPU at its descriptor limit).

Past ``max_connections`` a connection is answered 503 at once; out of file descriptors,
the one kept in reserve accepts a waiting client to answer it 503, so the serving loop never
spins on a listening socket it cannot accept from. The descriptor test runs the simulator in
a child process with a low ``RLIMIT_NOFILE``, so the limit is real and the test's own
process keeps its descriptors.
"""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
from http.client import HTTPConnection
from pathlib import Path

import requests

from tray_app.core.demo import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER
from tray_app.sim.server import Simulator

DEMO = {"api_id": DEMO_API_ID, "user": DEMO_USER, "password": DEMO_PASSWORD}
DESCRIPTOR_LIMIT = 48
CLIENTS = 90
CHILD = f"""
import resource
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, ({DESCRIPTOR_LIMIT}, hard))
from tray_app.sim.server import Simulator
simulator = Simulator(max_connections=10_000)  # let it reach the descriptor limit itself
print(simulator.base_url, flush=True)
simulator.serve_forever()
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def wait_for(condition: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_connections_past_the_cap_get_503_and_serving_goes_on(
    http: requests.Session,
) -> None:
    with Simulator(max_connections=2) as sim:
        port = int(sim.base_url.rsplit(":", 1)[1])
        held = [HTTPConnection("127.0.0.1", port, timeout=5) for _ in range(2)]
        for connection in held:  # two kept-alive connections, idle and open
            connection.request("GET", "/sim/stats")
            assert connection.getresponse().read().startswith(b"{")
        third = HTTPConnection("127.0.0.1", port, timeout=5)
        third.request("GET", "/sim/stats")
        refused = third.getresponse()
        assert refused.status == 503
        assert refused.getheader("Retry-After") == "1"
        third.close()
        held[0].close()

        def served() -> bool:
            answer = http.post(f"{sim.base_url}/http/auth", data=DEMO, timeout=5)
            return answer.status_code == 200

        wait_for(served)
        held[1].close()


def test_at_the_descriptor_limit_it_sheds_load_instead_of_spinning() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    clients: list[socket.socket] = []
    try:
        assert child.stdout is not None
        base_url = child.stdout.readline().strip()
        port = int(base_url.rsplit(":", 1)[1])
        for _ in range(CLIENTS):
            clients.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        wait_for(lambda: open_descriptors(child.pid) >= DESCRIPTOR_LIMIT - 2)

        before = cpu_seconds(child.pid)
        time.sleep(1.0)
        used = cpu_seconds(child.pid) - before
        assert used < 0.5, f"the serving loop spun: {used:.2f} s of CPU in 1 s at the limit"

        readable, _, _ = select.select(clients, [], [], 5.0)
        answers = [client.recv(200) for client in readable]
        assert any(answer.startswith(b"HTTP/1.1 503") for answer in answers), answers[:3]

        for client in clients:
            client.close()
        clients.clear()

        def served() -> bool:
            with requests.Session() as session:
                session.trust_env = False
                try:
                    answer = session.post(f"{base_url}/http/auth", data=DEMO, timeout=5)
                except requests.ConnectionError:
                    return False
                return answer.text.startswith("OK: ")

        wait_for(served)
    finally:
        for client in clients:
            client.close()
        child.kill()
        child.wait(timeout=10)
