"""The API base URL: its default and the one policy every caller checks it with.

Apart from the answer parser (:mod:`tray_app.core.protocol`) so that the tray's start-up can
check a ``--base-url`` before its icon without importing the parser, the masking rules and
logging.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

DEFAULT_BASE_URL = "https://api.clickatell.com"


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_host_name(host: str) -> bool:
    """An IP address, or a name of 1-63 character labels (IDNA), at most 253 characters."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        encoded = host.rstrip(".").encode("idna")
    except UnicodeError:  # an empty label, a label over 63 characters, a bad IDN
        return False
    return 0 < len(encoded) <= 253 and b".." not in encoded


def validate_base_url(url: str) -> str:
    """Normalise a base URL, refusing plain HTTP anywhere but on this machine.

    Messages never echo the URL: a hand-edited one may hold a password.
    """
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        raise ValueError("the base URL is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not host:
        raise ValueError("the base URL must look like https://api.clickatell.com")
    if not _is_host_name(host):
        raise ValueError("the base URL's host name is not valid (empty or over-long parts)")
    if scheme == "http" and not is_loopback_host(host):
        raise ValueError(
            "plain http:// is only allowed for a server on this machine "
            "(localhost or 127.0.0.1); use https://"
        )
    if parts.username is not None or parts.password is not None:
        raise ValueError("the base URL must not contain a user name or password")
    if parts.query or parts.fragment:
        raise ValueError("the base URL must not have a query (?…) or fragment (#…)")
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}"
