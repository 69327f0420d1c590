"""Signals that the session should be checked at once: the machine woke up, or the network is back.

Both are best effort. logind's ``PrepareForSleep`` needs a system bus. The network is
watched through rtnetlink on Linux (:mod:`tray_app.services.netlink`: one socket on a
QSocketNotifier, no thread, no timer); elsewhere, or where netlink is refused, through Qt's
QNetworkInformation, when the platform has a backend for it. Where none works, the keeper's
wall-clock gap check still notices a suspend on its next tick, and its retries a network
that comes back.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import SLOT, QObject, QSocketNotifier, Signal, Slot

from tray_app.services.netlink import RouteWatch

log = logging.getLogger(__name__)

LOGIND = ("org.freedesktop.login1", "/org/freedesktop/login1", "org.freedesktop.login1.Manager")


class WakeupWatcher(QObject):
    """Emits ``woke_up`` after a resume from sleep and when the network becomes reachable."""

    woke_up = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._online: bool | None = None
        self._routes: tuple[RouteWatch, QSocketNotifier] | None = None
        self.sources: list[str] = []
        self._watch_logind()
        self._watch_network()

    @property
    def online(self) -> bool | None:
        """Whether the network was reachable when last heard of; None before the first word."""
        return self._online

    @Slot(bool)
    def prepare_for_sleep(self, going_to_sleep: bool) -> None:
        if not going_to_sleep:
            self.woke_up.emit("resumed from sleep")

    def reachability_changed(self, online: bool) -> None:
        was_online, self._online = self._online, online
        if online and was_online is False:
            self.woke_up.emit("network is back")

    def _watch_logind(self) -> None:
        try:
            from PySide6.QtDBus import QDBusConnection
        except ImportError:
            return
        bus = QDBusConnection.systemBus()
        if not bus.isConnected():
            log.debug("no system bus: suspend is noticed by the clock check alone")
            return
        service, path, interface = LOGIND
        slot = SLOT("prepare_for_sleep(bool)")
        # The stubs lack the (service, path, interface, name, receiver, slot) overload.
        if bus.connect(service, path, interface, "PrepareForSleep", self, slot):  # type: ignore[call-overload]
            self.sources.append("logind")

    def _watch_network(self) -> None:
        try:
            routes = RouteWatch()
        except OSError as exc:
            log.debug("no netlink (%s): asking Qt's network information instead", exc)
            self._watch_network_with_qt()
            return
        notifier = QSocketNotifier(routes.fileno(), QSocketNotifier.Type.Read, self)

        def read() -> None:
            try:
                online = routes.read()
            except OSError as exc:
                log.warning("the network watch stopped: %s", exc)
                notifier.setEnabled(False)
                return
            if online is not None:
                self.reachability_changed(online)

        notifier.activated.connect(read)
        self._routes = (routes, notifier)
        self.sources.append("network (netlink)")

    def close(self) -> None:
        """Stop watching (the network watch's socket is closed; logind's signal is dropped
        with the object)."""
        if self._routes is not None:
            routes, notifier = self._routes
            notifier.setEnabled(False)
            routes.close()
            self._routes = None

    def _watch_network_with_qt(self) -> None:
        from PySide6.QtNetwork import QNetworkInformation

        if not QNetworkInformation.loadDefaultBackend():
            log.debug("no network information backend on this platform")
            return
        info = QNetworkInformation.instance()
        reachable = QNetworkInformation.Reachability.Online
        self._online = info.reachability() == reachable
        info.reachabilityChanged.connect(
            lambda value: self.reachability_changed(value == reachable)
        )
        self.sources.append(f"network ({info.backendName()})")
