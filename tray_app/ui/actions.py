"""What the menu's entries open and do: the dialogs, settings applied at once, start at login.

The tray view only says what the user asked for; this module answers, with the keeper, the
settings and the services it is given. Decisions taken here:

* While the sign-in dialog is open, "credentials rejected" shows in the dialog and raises no
  desktop notification: the user is looking at the answer already.
* Settings apply at once on OK: a new interval reschedules the next ping, a new base URL
  signs in on the new server. A base URL set for this run (``--base-url``,
  ``CLICKATELL_BASE_URL``) or anything the demo must not touch is locked in the dialog.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QWidget

from tray_app import APP_NAME
from tray_app.core.session import Event
from tray_app.core.state import State
from tray_app.qt.history_feed import HistoryFeed
from tray_app.qt.keeper import Keeper
from tray_app.qt.proxy_service import ProxyService
from tray_app.services.credentials import Credentials, CredentialStore
from tray_app.services.settings import Settings
from tray_app.ui.clipboard import SecretClipboard
from tray_app.ui.notify import Notifier
from tray_app.ui.tray import TrayView

log = logging.getLogger(__name__)

DEMO_LOCKED = {
    "base_url": "The demo always uses its own simulator.",
    "start_at_login": "Not in the demo: it would start the real app at login.",
}


class UserActions(QObject):
    """Answers the tray view's requests; one dialog of each kind at a time."""

    def __init__(
        self,
        *,
        view: TrayView,
        keeper: Keeper,
        settings: Settings,
        store: CredentialStore,
        notifier: Notifier,
        clipboard: SecretClipboard,
        quit_app: Callable[[], object],
        demo: bool,
        base_url_override: str | None = None,
        proxy: ProxyService | None = None,
        feed: HistoryFeed | None = None,
        log_dir: Path | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._view = view
        self._keeper = keeper
        self._settings = settings
        self._store = store
        self._notifier = notifier
        self._clipboard = clipboard
        self._demo = demo
        self._base_url_override = base_url_override
        self._proxy = proxy
        self._dialogs: dict[str, QWidget] = {}
        self._feed = feed or HistoryFeed(keeper, keeper.now, self)
        self._log_dir = log_dir
        self.events_window: QWidget | None = None
        view.sign_in_requested.connect(self.open_sign_in)
        view.events_requested.connect(self.open_events)
        view.forget_requested.connect(self.ask_to_forget)
        keeper.forgotten.connect(self._forgotten)
        view.settings_requested.connect(self.open_settings)
        view.start_at_login_toggled.connect(self.set_start_at_login)
        view.quit_requested.connect(quit_app)

    def open_sign_in(self) -> None:
        from tray_app.ui.dialogs import SignInDialog

        if self._raise_open("sign-in"):
            return
        keeper = self._keeper
        api_id, user = keeper.account or ("", "")
        storage = self._store.problem or "Stored in the system keyring."
        dialog = SignInDialog(api_id=api_id, user=user, storage_note=storage, demo=self._demo)

        def settled(state: object) -> None:
            if state is State.ACTIVE:
                dialog.succeeded()
            elif state in (State.FAILED, State.RETRYING):
                dialog.show_error(keeper.snapshot.last_error or str(state))

        def closed(_code: int) -> None:
            keeper.state_changed.disconnect(settled)
            self._notifier.muted.discard(Event.REJECTED)

        def prefill(credentials: Credentials | None) -> None:
            if credentials is not None and shiboken6.isValid(dialog):
                dialog.prefill(credentials)

        dialog.submitted.connect(keeper.sign_in)
        keeper.state_changed.connect(settled)
        dialog.finished.connect(closed)
        self._notifier.muted.add(Event.REJECTED)
        self._present("sign-in", dialog)
        keeper.stored_credentials(prefill)

    def open_events(self) -> None:
        from tray_app.services.logs import default_log_dir
        from tray_app.ui.events_window import EventsWindow

        if self.events_window is None:
            log_dir = self._log_dir or default_log_dir()
            self.events_window = EventsWindow(self._feed, log_dir=log_dir)
        self.events_window.show()
        self.events_window.raise_()
        self.events_window.activateWindow()

    def ask_to_forget(self) -> None:
        """Deleting the password cannot be undone by the app: ask first, Cancel by default."""
        if self._raise_open("forget"):
            return
        # Here, not at the top: the type alone holds 0.8 MiB, for a box most runs never show.
        from PySide6.QtWidgets import QMessageBox

        box = QMessageBox(
            QMessageBox.Icon.Warning,
            f"Forget credentials — {APP_NAME}",
            "Delete the stored API ID, username and password from the keyring?",
        )
        box.setInformativeText(
            "The session ends here too. To sign in again you will need to type them."
        )
        forget = box.addButton("Forget", QMessageBox.ButtonRole.DestructiveRole)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(cancel)
        box.setEscapeButton(cancel)
        box.setObjectName("forget_confirmation")

        def answered(button: object) -> None:
            if button is forget:
                self._keeper.forget_credentials()

        box.buttonClicked.connect(answered)
        self._present("forget", box)

    def _forgotten(self, problem: object) -> None:
        """Say what really happened to the keyring entry."""
        if problem is None:
            self._view.tray.showMessage(APP_NAME, "Stored credentials deleted.")
        else:
            self._view.tray.showMessage(
                APP_NAME, f"Could not delete the stored credentials: {problem}"
            )

    def open_settings(self) -> None:
        from tray_app.ui.dialogs import SettingsDialog

        if self._raise_open("settings"):
            return
        locked: dict[str, str] = {}
        shown: dict[str, object] = {}
        if self._demo:
            locked.update(DEMO_LOCKED)
        elif self._base_url_override:
            locked["base_url"] = (
                "Set for this run by --base-url or CLICKATELL_BASE_URL; "
                "the address saved here is kept for other runs."
            )
            shown["base_url"] = self._base_url_override
        dialog = SettingsDialog(self._settings, locked=locked, shown=shown)
        dialog.applied.connect(lambda: self.apply_settings(set(locked)))
        self._present("settings", dialog)

    def apply_settings(self, locked: set[str] | frozenset[str] = frozenset()) -> None:
        """Make what the settings dialog just wrote take effect now."""
        settings = self._settings
        self._keeper.change_interval(settings.ping_interval_minutes * 60.0)
        if "base_url" not in locked:
            self._keeper.change_server(settings.base_url)
        self._notifier.enabled = settings.notifications
        self._clipboard.clear_after = settings.clipboard_clear_seconds
        self._view.set_panel(settings.icon_theme)
        if "start_at_login" not in locked:
            self.set_start_at_login(settings.start_at_login)
        self.run_proxy(settings.local_proxy)

    def run_proxy(self, wanted: bool) -> None:
        """Start or stop the local API proxy; a failure to start is said, never hidden."""
        if self._proxy is None:
            return
        try:
            self._proxy.set_enabled(wanted)
        except OSError as exc:
            log.warning("the local API proxy could not start: %s", exc)
            self._view.tray.showMessage(APP_NAME, f"The local API proxy could not start: {exc}")

    def set_start_at_login(self, wanted: bool) -> None:
        from tray_app.services import autostart

        if self._demo:
            return
        try:
            if wanted:
                autostart.enable()
            else:
                autostart.disable()
            self._settings.start_at_login = wanted
        except autostart.AutostartError as exc:
            log.warning("start at login: %s", exc)
            self._view.tray.showMessage(APP_NAME, str(exc))
        self._view.set_start_at_login(autostart_enabled())

    def _raise_open(self, key: str) -> bool:
        """Bring an open dialog of this kind to the front instead of opening a second one."""
        previous = self._dialogs.get(key)
        if previous is not None and shiboken6.isValid(previous) and previous.isVisible():
            previous.raise_()
            previous.activateWindow()
            return True
        return False

    def _present(self, key: str, dialog: QWidget) -> None:
        """Show without blocking the event loop."""
        self._dialogs[key] = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()


def autostart_enabled() -> bool:
    from tray_app.services import autostart

    try:
        return autostart.is_enabled()
    except autostart.AutostartError as exc:
        log.warning("start at login: %s", exc)
        return False
