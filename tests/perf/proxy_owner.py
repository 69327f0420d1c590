"""A headless owner with the proxy, for the benchmark: ``python -m tests.perf.proxy_owner URL``.

The keeper, its worker thread and the proxy as ``clickatell-tray proxy`` runs them, but with
the demo credentials in memory, so that the benchmark needs no keyring. Prints
``proxy: <URL>`` once the session is active; SIGTERM ends it.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QCoreApplication, QTimer

from tray_app.core.state import State
from tray_app.qt.keeper import Keeper
from tray_app.qt.proxy_service import ProxyService
from tray_app.qt.unix_signals import quit_on_signals
from tray_app.services.credentials import Credentials, CredentialStore
from tray_app.sim.server import DEMO_API_ID, DEMO_PASSWORD, DEMO_USER


def main(base_url: str) -> int:
    app = QCoreApplication([])
    wakeup = quit_on_signals(app)
    store = CredentialStore(memory_only=True)
    store.save(Credentials(DEMO_API_ID, DEMO_USER, DEMO_PASSWORD))
    keeper = Keeper(store, base_url=base_url)
    proxy = ProxyService(keeper)

    def announce(state: object) -> None:
        if state is State.ACTIVE and proxy.url is None:
            proxy.set_enabled(True)
            print(f"proxy: {proxy.url}", flush=True)

    keeper.state_changed.connect(announce)
    QTimer.singleShot(0, keeper.start)
    app.exec()
    proxy.stop()
    keeper.stop()
    wakeup.setEnabled(False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
