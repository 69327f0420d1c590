"""Shared test set-up: Qt offscreen, an injected clock, and the real desktop stack on demand."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
import requests

from tray_app.core.clock import FakeClock

if TYPE_CHECKING:
    from desktop_stack import SecretService

    from tray_app.services.credentials import CredentialStore

pytest_plugins = ["desktop_stack", "desktop_sni"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def real_store(keyring_env: SecretService) -> Iterator[CredentialStore]:
    """A store on the real (throw-away) Secret Service, with nothing stored before or after."""
    from tray_app.services.credentials import CredentialStore

    CredentialStore().clear()
    yield CredentialStore()
    CredentialStore().clear()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """A client that ignores proxy settings, so loopback calls never leave the machine."""
    with requests.Session() as session:
        session.trust_env = False
        yield session
