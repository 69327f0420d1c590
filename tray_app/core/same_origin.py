"""Whether a request to a loopback server's control pages came from that server's own pages.

A server on 127.0.0.1 is reachable from any web page the user opens: a foreign page can send
it form POSTs (no preflight is needed for form content types), and a DNS-rebinding page can
even read its answers under a name of its own. So control endpoints accept a request only when

* its ``Host`` is this server under a name it answers to (a rebinding name is refused);
* an ``Origin`` or ``Referer``, if sent, is this server (browsers send one on every POST);
* ``Sec-Fetch-Site``, if sent, says ``same-origin`` or ``none`` (typed in the address bar);
* a body, if any, is ``application/x-www-form-urlencoded``: the ``text/plain`` and
  ``multipart/form-data`` a foreign form can also post are not read.

curl, scripts and the tests send none of the browser headers and pass; a browser tab on
another site cannot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

FORM = "application/x-www-form-urlencoded"


def refusal(
    headers: Mapping[str, str],
    *,
    hosts: Iterable[str] | None,
    port: int,
    has_body: bool,
) -> str | None:
    """Why this request must be refused, or None. ``headers`` has lower-case names;
    ``hosts`` are the names this server answers to (None: any, for a server opened on
    purpose to the network)."""
    host = headers.get("host", "").strip().lower()
    if hosts is not None:
        allowed = {f"{name.lower()}:{port}" for name in hosts}
        if host not in allowed:
            return "the Host header names another server"
    origins = {f"http://{host}"}
    origin = headers.get("origin")
    if origin is not None and origin.strip().lower() not in origins:
        return "the request comes from another origin"
    referer = headers.get("referer")
    if referer is not None and not any(
        referer.strip().lower() == o or referer.strip().lower().startswith(o + "/") for o in origins
    ):
        return "the request comes from another origin"
    site = headers.get("sec-fetch-site")
    if site is not None and site.strip().lower() not in ("same-origin", "none"):
        return "the request comes from another site"
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if has_body and content_type != FORM:
        return f"a body must be {FORM}"
    return None
