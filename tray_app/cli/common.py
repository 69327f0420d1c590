"""What the commands share: the base URL, the store, the exchange, console logging."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tray_app.cli.errors import EXIT_OTHER, EXIT_SESSION_GONE, EXIT_USAGE, CliError
from tray_app.core.base_url import DEFAULT_BASE_URL, is_loopback_host, validate_base_url

if TYPE_CHECKING:
    import argparse

    from tray_app.services.credentials import CredentialStore
    from tray_app.services.exchange import Exchange


def setup_console_logging(verbose: bool) -> None:
    from tray_app.services.logs import setup_logging

    try:
        setup_logging("DEBUG" if verbose else "WARNING", console=True)
    except OSError as exc:
        print(f"clickatell-tray: logging to a file is off: {exc}", file=sys.stderr)


def base_url(args: argparse.Namespace) -> str:
    """--base-url, else $CLICKATELL_BASE_URL, else the settings; checked by the one policy."""
    url = given_base_url(getattr(args, "base_url", None))
    if url is None:
        from tray_app.services.settings import Settings

        url = _checked(Settings().base_url or DEFAULT_BASE_URL)
    return url


def given_base_url(explicit: str | None) -> str | None:
    """--base-url, else $CLICKATELL_BASE_URL, checked; None when neither is given.

    The tray starts with this: the settings' own URL, valid whenever it is read (the settings
    fall back to the default), is read once the icon shows.
    """
    url = explicit or os.environ.get("CLICKATELL_BASE_URL")
    return _checked(url) if url else None


def _checked(url: str) -> str:
    try:
        return validate_base_url(url)
    except ValueError as exc:
        raise CliError(f"bad base URL: {exc}", EXIT_USAGE) from None


def is_loopback_url(url: str) -> bool:
    return is_loopback_host(urlsplit(url).hostname)


def store() -> CredentialStore:
    from tray_app.services.credentials import CredentialStore

    return CredentialStore()


def exchange(args: argparse.Namespace, credential_store: CredentialStore) -> Exchange:
    """The same exchange the keeper uses, for a command that finds no owner."""
    from tray_app.services.exchange import Exchange
    from tray_app.services.http_client import ApiClient

    url = base_url(args)
    return Exchange(credential_store, lambda: ApiClient(url))


def stored_session(credential_store: CredentialStore) -> tuple[str, float | None]:
    """The stored session ID and its expiry; exit 4 with advice when there is none.

    With no usable keyring nothing can be stored at all: that is exit 1 (other trouble), as
    documented, with the keyring's own explanation, not "no session" (exit 4).
    """
    session_id, expires_at = credential_store.load_session()
    if not session_id and not credential_store.persistent and credential_store.problem:
        raise CliError(credential_store.problem, EXIT_OTHER)
    if not session_id:
        hint = f" ({credential_store.problem})" if credential_store.problem else ""
        raise CliError(
            f"no session stored; sign in with: clickatell-tray login{hint}", EXIT_SESSION_GONE
        )
    return session_id, expires_at
