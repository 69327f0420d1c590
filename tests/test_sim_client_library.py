"""A real third-party client of this API, PyPI ``clickatell`` 0.1.x, against ``simulate``.

The library is used as its users use it: ``clickatell.http.Http(user, password, api_id)``,
pointed at the simulator through its public ``endpoint`` attribute (host and port; it adds
``http://`` itself since ``secure`` is off), its code untouched. It sends the credentials on
every call, over GET with the parameters in the query string, and parses the answers with
its own parser: what it gets back is what a user of the library would see.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import clickatell.http as clickatell_http
import pytest
from clickatell.exception import ClickatellError
from processes import SimulatorProcess

from tray_app.core.demo import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER

API_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimulatorProcess]:
    # The library uses requests' module functions, which honour proxy variables: keep
    # loopback calls off any proxy the environment names.
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    process = SimulatorProcess()
    yield process
    if process.process.poll() is None:
        process.stop()


def client(server: SimulatorProcess, password: str = DEMO_PASSWORD) -> object:
    api = clickatell_http.Http(DEMO_USER, password, DEMO_API_ID)
    api.endpoint = urlsplit(server.base_url).netloc
    return api


def test_the_clickatell_library_sends_queries_cancels_and_reads_the_balance(
    server: SimulatorProcess,
) -> None:
    api = client(server)
    assert api.getBalance() == {"balance": 42.5}

    [one] = api.sendMessage("27820000001", "Hello from the library")
    assert API_ID.fullmatch(one["id"])
    assert one == {
        "id": one["id"],
        "destination": "27820000001",
        "error": False,
        "errorCode": False,
    }

    several = api.sendMessage(["27820000002", "12ab", "27820000003"], "Hello, all")
    assert [entry["destination"] for entry in several] == ["27820000002", "12ab", "27820000003"]
    assert API_ID.fullmatch(several[0]["id"]) and API_ID.fullmatch(several[2]["id"])
    assert several[1]["id"] is False
    # For a line of a several-recipient answer the library keeps the code under "code" and
    # hands back only the description: its own behaviour, the same against the real API.
    assert several[1]["error"] == "Invalid destination address"

    charge = api.getMessageCharge(one["id"])
    assert charge["id"] == one["id"]
    assert charge["charge"] == 1.0
    assert charge["status"] in ("002", "003", "004")
    assert charge["description"] == api.getStatus(charge["status"])
    assert api.queryMessage(one["id"])["status"] in ("002", "003", "004")

    [later] = api.sendMessage("27820000004", "Not yet", {"deliv_time": 60})
    assert api.getMessageCharge(later["id"])["status"] == "011"
    stopped = api.stopMessage(later["id"])
    assert stopped["id"] == later["id"]
    assert stopped["status"] == "006"
    assert stopped["description"].startswith("The message was terminated by a user")

    # four messages sent (one, two of three, later), the cancelled one given back
    assert api.getBalance() == {"balance": 39.5}

    assert api.routeCoverage("27820000001") == {
        "routable": True,
        "destination": "27820000001",
        "charge": 1.0,
    }
    assert api.routeCoverage("99900000001") == {
        "routable": False,
        "destination": "99900000001",
        "charge": 0,
    }


def test_the_library_reports_a_wrong_password_as_its_error(server: SimulatorProcess) -> None:
    with pytest.raises(ClickatellError) as raised:
        client(server, password="wrong").getBalance()
    assert raised.value.code == "001"
    assert raised.value.message == "Authentication failed"
    [refused] = client(server, password="wrong").sendMessage("27820000001", "x")
    assert refused["errorCode"] == "001"
    assert refused["id"] is False


def test_the_simulator_saw_the_library_requests(server: SimulatorProcess) -> None:
    api = client(server)
    [sent] = api.sendMessage("27820000001", "logged")
    api.getMessageCharge(sent["id"])
    _code, records = server.stop()
    assert [(r["command"], r["outcome"]) for r in records] == [
        ("sendmsg", "ok"),
        ("getmsgcharge", "ok"),
    ]
    assert "logged" not in repr(records)
