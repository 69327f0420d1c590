"""A request's total deadline, kept by its socket's own operations: no thread, each request its own.

Real sockets throughout: a socket pair for what a bound socket does with and without a
deadline entered, the hostile server for a kept-alive connection reused by a second slow
request, and a fresh interpreter against the simulator process to count threads (a thread
started once per process would hide in the test process, which earlier tests warmed up).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator

import pytest
from hostile_server import HostileServer, Reply
from processes import SimulatorProcess

from tray_app.core.protocol import ApiError
from tray_app.services.deadline import Deadline, _bound
from tray_app.services.http_client import ApiClient
from tray_app.sim.server import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER

SID = "f6b9af2a2c9e5b18ee2d257e3def5d66"
DEMO = (DEMO_API_ID, DEMO_USER, DEMO_PASSWORD)
STEP = 120.0  # a step timeout far beyond any deadline here

CHILD = """
import json, os, sys, threading
from tray_app.core.protocol import ApiError
from tray_app.services.http_client import ApiClient

def threads():
    return len(os.listdir("/proc/self/task")), [t.name for t in threading.enumerate()]

simulator, slow, api_id, user, password, sid = sys.argv[1:]
before = threads()
client = ApiClient(simulator)
session = client.auth(api_id, user, password)
client.ping(session)
client.balance(session)
try:
    ApiClient(slow, read_timeout=5.0, deadline=0.5).ping(sid)
    cut = "answered"
except ApiError as error:
    cut = error.description
print(json.dumps({"before": before, "after": threads(), "cut": cut}))
"""


def finished(call: Callable[[], object]) -> object:
    """What ``call`` returned or raised, run on a thread; fails if it still blocks after 30 s
    (a wait that only the step timeout would end)."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except Exception as exc:  # handed to the test to look at
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(30)
    assert outcome, "still blocked long after the deadline"
    return outcome[0]


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A bound socket (``ours``) and its peer; ``ours`` has a 5 s step timeout, as urllib3's."""
    ours, peer = socket.socketpair()
    with ours, peer:
        _bound(ours)
        ours.settimeout(5.0)
        yield ours, peer


def test_requests_start_no_thread_even_one_cut_at_its_deadline() -> None:
    trickle = Reply(body=f"OK: {SID}".encode(), size=100, filler=b" ", trickle=0.05)
    simulator = SimulatorProcess()
    try:
        with HostileServer(trickle) as slow:
            child = subprocess.run(
                [sys.executable, "-c", CHILD, simulator.base_url, slow.base_url, *DEMO, SID],
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
    finally:
        simulator.stop()
    seen = json.loads(child.stdout)
    assert seen["cut"] == "the server did not answer within 0.5 s"
    assert seen["before"] == [1, ["MainThread"]]
    assert seen["after"] == [1, ["MainThread"]], "a request left a thread behind"


def test_a_kept_alive_connection_serves_each_request_under_its_own_deadline() -> None:
    """Each answer takes 60 % of the deadline: two on one connection only fit if the second
    request's clock starts anew, not at the connection's first request."""
    with HostileServer(Reply(body=f"OK: {SID}".encode(), delay=0.9)) as server:
        client = ApiClient(server.base_url, read_timeout=5.0, deadline=1.5)
        assert client.ping(SID) == SID
        assert client.ping(SID) == SID
        assert [seen.connection for seen in server.requests] == [0, 0]


def test_a_server_that_sends_nothing_is_cut_at_the_deadline_not_the_read_timeout() -> None:
    """The wait is shortened to the time left, and the call says it was too slow."""
    with HostileServer(Reply(hang=True)) as server:
        client = ApiClient(server.base_url, read_timeout=STEP, deadline=0.5)
        outcome = finished(lambda: client.ping(SID))
    assert isinstance(outcome, ApiError)
    assert outcome.description == "the server did not answer within 0.5 s"


def test_past_the_deadline_an_operation_fails_at_once_even_with_data_waiting(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, peer = pair
    peer.sendall(b"x")
    with Deadline(0.0) as deadline:
        with pytest.raises(TimeoutError):
            ours.recv(1)
        with pytest.raises(TimeoutError):
            ours.sendall(b"y")
    assert deadline.expired
    assert ours.gettimeout() == 5.0
    assert ours.recv(1) == b"x", "nothing was read under the spent deadline"


def test_a_wait_longer_than_the_time_left_ends_with_the_deadline(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, _peer = pair
    ours.settimeout(STEP)

    def wait() -> Deadline:
        with Deadline(0.2) as deadline, pytest.raises(TimeoutError):
            ours.recv_into(bytearray(4))
        return deadline

    deadline = finished(wait)
    assert isinstance(deadline, Deadline)
    assert deadline.expired
    assert ours.gettimeout() == STEP, "the step timeout urllib3 set is put back"


def test_within_the_deadline_the_socket_keeps_its_own_timeout(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, peer = pair
    with Deadline(60.0) as deadline:
        peer.sendall(b"ping")
        assert ours.recv(4) == b"ping"
        ours.settimeout(None)
        ours.sendall(b"pong")
        peer.sendall(b"more")
        assert ours.recv(4) == b"more"
        assert ours.gettimeout() is None
    assert peer.recv(4) == b"pong"
    assert not deadline.expired
    assert isinstance(ours, socket.socket)


def test_a_socket_used_with_no_deadline_entered_behaves_as_before(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    """After the request, and on another thread while one is under way: nothing is cut."""
    ours, peer = pair
    with Deadline(0.0):
        pass
    peer.sendall(b"late")
    assert ours.recv(4) == b"late"
    ours.sendall(b"back")
    assert peer.recv(4) == b"back"
    assert ours.gettimeout() == 5.0

    got: list[bytes] = []
    with Deadline(0.0) as deadline:
        other = threading.Thread(target=lambda: got.append(ours.recv(5)))
        peer.sendall(b"other")
        other.start()
        other.join(10)
    assert got == [b"other"]
    assert not deadline.expired
