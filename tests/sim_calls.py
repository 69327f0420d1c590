"""Calling the simulator's API commands over loopback, shared by the simulator's test modules.

``sim`` is a fixture: a simulator on the fake clock with a demo account of 10 credits and a
second account, ``OTHER``; import it into a test module to use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

from tray_app.core.clock import FakeClock
from tray_app.sim.server import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER, Account, Simulator

DEMO = {"api_id": DEMO_API_ID, "user": DEMO_USER, "password": DEMO_PASSWORD}
OTHER = Account("4000004", "other", "other-pw", balance=5.0)
NUMBER = "27820000001"
ID_LINE = re.compile(r"ID: ([0-9a-f]{32})")


@pytest.fixture
def sim(clock: FakeClock) -> Iterator[Simulator]:
    demo = Account(DEMO_API_ID, DEMO_USER, DEMO_PASSWORD, balance=10.0)
    with Simulator(clock=clock, accounts=[demo, OTHER], seed=1) as simulator:
        yield simulator


def call(http: requests.Session, sim: Simulator, command: str, **params: str) -> str:
    """POST one command with the demo credentials unless a session or others are given."""
    if "session_id" not in params and "user" not in params:
        params = {**DEMO, **params}
    path = "utils" if command == "routeCoverage" else "http"
    response = http.post(f"{sim.base_url}/{path}/{command}", data=params, timeout=5)
    assert response.status_code == 200
    assert response.text.endswith("\n")
    return response.text[:-1]


def send(http: requests.Session, sim: Simulator, **params: str) -> str:
    """Send one message and return its API message ID."""
    answer = call(http, sim, "sendmsg", **{"to": NUMBER, "text": "hello", **params})
    match = ID_LINE.fullmatch(answer)
    assert match, answer
    return match.group(1)


def balance(http: requests.Session, sim: Simulator, **credentials: str) -> str:
    return call(http, sim, "getbalance", **credentials)
