"""What a careless test would do: notify and use the keyring without asking for a private bus.

Not collected by the suite (no ``test_`` prefix); ``test_isolation.py`` runs it in a nested
pytest whose inherited session bus is watched, to show that the suite's guards keep such a
test away from the bus of the person running it.
"""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from tray_app.core.session import Event
from tray_app.services.credentials import Credentials, CredentialStore
from tray_app.ui.notify import Notifier


def test_notify_on_whatever_bus_the_environment_names(qtbot: QtBot) -> None:
    notifier = Notifier(lambda _title, _body: None, platform="linux")
    try:
        with qtbot.waitSignal(notifier.sent, timeout=20_000):
            notifier.notify(Event.REJECTED, "Credentials rejected", "ERR 001")
    finally:
        notifier.close()


def test_use_whatever_keyring_the_environment_offers() -> None:
    store = CredentialStore(timeout=5.0)
    store.save(Credentials("3456789", "probe", "probe-password"))
    store.clear()
