"""Copy as… and Copy proxy URL, offscreen: what each entry copies, and that the copies work.

The curl commands are not compared with a template only: the ping and getbalance ones are
run, as a user would paste them, against the real simulator, directly and through the
real proxy.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from collections.abc import Iterator

import pytest
import requests
from PySide6.QtGui import QGuiApplication

from tray_app.core.clock import FakeClock
from tray_app.qt.keeper import Keeper
from tray_app.qt.proxy_service import ProxyService
from tray_app.services.credentials import Credentials
from tray_app.sim.server import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER, Simulator
from tray_app.ui.clipboard import SecretClipboard
from tray_app.ui.notify import Notifier
from tray_app.ui.tray import TrayView

DEMO = Credentials(DEMO_API_ID, DEMO_USER, DEMO_PASSWORD)
needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


@pytest.fixture
def said() -> list[tuple[str, str]]:
    return []


@pytest.fixture
def view(keeper: Keeper, clock: FakeClock, said: list[tuple[str, str]]) -> Iterator[TrayView]:
    tray = TrayView(keeper, Notifier(platform="test"), SecretClipboard(), clock=clock.wall)
    tray.tray.showMessage = lambda title, body, *_args: said.append((title, body))  # type: ignore[method-assign]
    tray.show()
    yield tray
    tray.tray.hide()


@pytest.fixture
def proxy(keeper: Keeper, view: TrayView) -> Iterator[ProxyService]:
    service = ProxyService(keeper)
    service.url_changed.connect(view.set_proxy_url)
    service.set_enabled(True)
    yield service
    service.stop()


def clipboard_text() -> str:
    return QGuiApplication.clipboard().text()


def copied_by(view: TrayView, key: str) -> str:
    QGuiApplication.clipboard().setText("something else")
    view.copy_menu.actions[key].trigger()
    assert bytes(QGuiApplication.clipboard().mimeData().data("x-kde-passwordManagerHint")) == (
        b"secret"
    )
    return clipboard_text()


def run_copied(command: str) -> str:
    result = subprocess.run(
        [*shlex.split(command), "--silent", "--show-error", "--max-time", "20"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_without_a_session_or_proxy_nothing_can_be_copied(view: TrayView) -> None:
    menu = view.copy_menu
    assert not menu.submenu.isEnabled()
    assert not menu.proxy_url_action.isVisible()
    assert not menu.proxy_line.isVisible()
    assert not any(
        action.isVisible() for key, action in menu.actions.items() if key.startswith("proxy-")
    )


def test_the_id_and_the_field(view: TrayView, keeper: Keeper) -> None:
    keeper.sign_in(DEMO)
    session_id = keeper.snapshot.session_id
    assert session_id
    assert view.copy_menu.submenu.isEnabled()
    assert copied_by(view, "id") == session_id
    assert copied_by(view, "field") == f"session_id={session_id}"


@needs_curl
def test_the_curl_commands_work_as_copied(
    view: TrayView, keeper: Keeper, simulator: Simulator, said: list[tuple[str, str]]
) -> None:
    keeper.sign_in(DEMO)
    session_id = keeper.snapshot.session_id
    ping = copied_by(view, "curl-ping")
    assert session_id in ping
    assert said[-1] == ("curl: ping copied", "with the session ID")
    assert run_copied(ping) == f"OK: {session_id}\n"
    assert run_copied(copied_by(view, "curl-balance")) == "Credit: 42.50\n"
    sendmsg = copied_by(view, "curl-sendmsg")
    assert sendmsg == (
        f"curl --data-urlencode session_id={session_id} --data-urlencode to=PHONE_NUMBER "
        f"--data-urlencode 'text=Hello from curl' {simulator.base_url}/http/sendmsg"
    )


def test_a_copy_holds_the_id_of_the_moment_it_is_clicked(
    view: TrayView, keeper: Keeper, simulator: Simulator
) -> None:
    keeper.sign_in(DEMO)
    simulator.expire_all()
    keeper.ping_now()
    assert copied_by(view, "id") == keeper.snapshot.session_id


@needs_curl
def test_proxy_entries_copy_commands_without_the_id_that_work(
    view: TrayView, keeper: Keeper, proxy: ProxyService, simulator: Simulator
) -> None:
    keeper.sign_in(DEMO)
    session_id = keeper.snapshot.session_id
    assert session_id and proxy.url
    menu = view.copy_menu
    assert menu.proxy_url_action.isVisible()
    view.menu.aboutToShow.emit()
    token = proxy.url.rsplit("/", 1)[1]
    assert menu.proxy_line.text().startswith("Proxy: http://127.0.0.1:")
    assert token not in menu.proxy_line.text()
    QGuiApplication.clipboard().setText("something else")
    menu.proxy_url_action.trigger()
    assert clipboard_text() == proxy.url
    for key in ("proxy-ping", "proxy-balance", "proxy-sendmsg"):
        assert session_id not in copied_by(view, key)
    assert run_copied(copied_by(view, "proxy-ping")) == f"OK: {session_id}\n"
    assert run_copied(copied_by(view, "proxy-balance")) == "Credit: 42.50\n"


def test_a_stopped_proxy_leaves_the_menu_and_its_url_dies(
    view: TrayView, keeper: Keeper, proxy: ProxyService
) -> None:
    keeper.sign_in(DEMO)
    url = proxy.url
    assert url and requests.get(f"{url}/http/ping").ok
    proxy.set_enabled(False)
    assert not view.copy_menu.proxy_url_action.isVisible()
    assert not view.copy_menu.actions["proxy-ping"].isVisible()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/http/ping", timeout=5)
    proxy.set_enabled(True)
    assert proxy.url and proxy.url != url, "a new start has a new token"


def test_a_renewal_clears_a_copied_command_with_the_old_id_but_not_one_for_the_proxy(
    view: TrayView, keeper: Keeper, proxy: ProxyService, simulator: Simulator
) -> None:
    keeper.sign_in(DEMO)
    copied_by(view, "curl-ping")
    simulator.expire_all()
    keeper.ping_now()
    assert clipboard_text() == "", "a command with a dead ID stayed on the clipboard"
    through_proxy = copied_by(view, "proxy-ping")
    simulator.expire_all()
    keeper.ping_now()
    assert clipboard_text() == through_proxy
