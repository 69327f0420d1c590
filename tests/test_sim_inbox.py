"""The inbox page at /sim/ and the same-origin rule of every /sim/ endpoint, over loopback."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

from tray_app.core.clock import FakeClock
from tray_app.core.demo import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER
from tray_app.sim.server import Simulator

DEMO = {"api_id": DEMO_API_ID, "user": DEMO_USER, "password": DEMO_PASSWORD}


@pytest.fixture
def sim(clock: FakeClock) -> Iterator[Simulator]:
    with Simulator(clock=clock) as simulator:
        yield simulator


def send(http: requests.Session, sim: Simulator, **params: str) -> str:
    answer = http.post(f"{sim.base_url}/http/sendmsg", data={**DEMO, **params}, timeout=5)
    return answer.text.split()[1]


def phone(page: str, number: str) -> str:
    """The HTML of one recipient's phone on the page."""
    match = re.search(rf'<section class="phone" aria-label="Phone {number}">(.*?)</section>', page)
    assert match, f"no phone {number} on the page"
    return match.group(1)


def test_the_inbox_shows_each_message_under_its_recipient_newest_first(
    http: requests.Session, sim: Simulator, clock: FakeClock
) -> None:
    send(http, sim, to="27820000001", text="first", **{"from": "Shop"})
    clock.advance(10)
    send(http, sim, to="27820000001,27820000002", text="second")
    page = http.get(f"{sim.base_url}/sim/", timeout=5).text
    one, two = phone(page, "27820000001"), phone(page, "27820000002")
    assert one.index("second") < one.index("first"), "newest first"
    assert "from Shop" in one
    assert "Status 004 Received by recipient" in one, "the first one arrived 10 s ago"
    assert "Status 002 Message queued" in two
    assert "first" not in two
    assert "39.50" in page, "the balance after three one-part messages"


def test_the_inbox_masks_session_ids_and_escapes_texts(
    http: requests.Session, sim: Simulator
) -> None:
    session_id = http.post(f"{sim.base_url}/http/auth", data=DEMO, timeout=5).text.split()[1]
    send(http, sim, to="27820000001", text='<img src=x onerror="alert(1)">')
    page = http.get(f"{sim.base_url}/sim/", timeout=5).text
    assert session_id not in page
    assert f"{session_id[:4]}…{session_id[-4:]}" in page
    assert "15:00" in page, "time to expiry"
    assert "<img" not in page
    assert "&lt;img src=x" in page


def test_the_inbox_is_self_contained_read_only_and_refreshes_itself(
    http: requests.Session, sim: Simulator
) -> None:
    answer = http.get(f"{sim.base_url}/sim/", timeout=5)
    assert answer.headers["Content-Type"].startswith("text/html")
    csp = answer.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert answer.headers["X-Frame-Options"] == "DENY"
    page = answer.text
    assert '<meta http-equiv="refresh" content="2">' in page
    for forbidden in ("<script", "<form", "<iframe", "http://", "https://"):
        assert forbidden not in page, forbidden
    css = http.get(f"{sim.base_url}/sim/inbox.css", timeout=5)
    assert css.headers["Content-Type"].startswith("text/css")
    assert "url(" not in css.text and "@import" not in css.text, "no external assets"
    assert http.post(f"{sim.base_url}/sim/", timeout=5).status_code == 405


CROSS_ORIGIN = [
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Referer": "http://evil.example/page"},
]


@pytest.mark.parametrize("headers", CROSS_ORIGIN, ids=lambda h: "-".join(h.values()))
def test_control_endpoints_refuse_cross_origin_requests(
    http: requests.Session, sim: Simulator, headers: dict[str, str]
) -> None:
    session_id = http.post(f"{sim.base_url}/http/auth", data=DEMO, timeout=5).text.split()[1]
    for path, data in (
        ("/sim/expire", {}),
        ("/sim/faults", {"fault_rate": "1"}),
        ("/sim/credits", {"add": "1000"}),
    ):
        answer = http.post(f"{sim.base_url}{path}", data=data, headers=headers, timeout=5)
        assert answer.status_code == 403, path
        assert answer.text.startswith("Forbidden: ")
        assert answer.headers["Connection"] == "close", "the client must not reuse it"
    assert http.get(f"{sim.base_url}/sim/", headers=headers, timeout=5).status_code == 403
    assert http.get(f"{sim.base_url}/sim/stats", headers=headers, timeout=5).status_code == 403
    assert sim.session_ids() == [session_id]
    assert sim.fault_rate == 0
    assert sim.model.balances()[(DEMO_API_ID, DEMO_USER)] == 42.5


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1:1", ""])
def test_control_endpoints_refuse_a_foreign_host(
    http: requests.Session, sim: Simulator, host: str
) -> None:
    """A DNS-rebinding page reaches 127.0.0.1 under a name of its own: refused."""
    port = sim.base_url.rsplit(":", 1)[1]
    headers = {"Host": host.format(port=port)}
    assert http.post(f"{sim.base_url}/sim/expire", headers=headers, timeout=5).status_code == 403
    assert http.get(f"{sim.base_url}/sim/", headers=headers, timeout=5).status_code == 403


@pytest.mark.parametrize(
    "content_type", ["text/plain", "multipart/form-data; boundary=x", "application/json"]
)
def test_control_endpoints_read_no_body_a_foreign_form_could_send(
    http: requests.Session, sim: Simulator, content_type: str
) -> None:
    answer = http.post(
        f"{sim.base_url}/sim/credits",
        data="add=1000",
        headers={"Content-Type": content_type},
        timeout=5,
    )
    assert answer.status_code == 403
    assert sim.model.balances()[(DEMO_API_ID, DEMO_USER)] == 42.5


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Sec-Fetch-Site": "same-origin", "Origin": "http://{host}"},
        {"Sec-Fetch-Site": "none"},
        {"Referer": "http://{host}/sim/"},
        {"Host": "localhost:{port}"},
    ],
    ids=["curl", "same-origin", "typed-in", "own-page", "localhost"],
)
def test_same_origin_and_non_browser_requests_pass(
    http: requests.Session, sim: Simulator, headers: dict[str, str]
) -> None:
    host = sim.base_url.removeprefix("http://")
    port = host.rsplit(":", 1)[1]
    filled = {k: v.format(host=host, port=port) for k, v in headers.items()}
    assert http.get(f"{sim.base_url}/sim/", headers=filled, timeout=5).status_code == 200
    answer = http.post(f"{sim.base_url}/sim/credits", data={"add": "1"}, headers=filled, timeout=5)
    assert answer.status_code == 200
