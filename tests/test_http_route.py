"""Where the client's calls go: TLS verified, environment proxies for a remote URL only.

Real servers on 127.0.0.1: a TLS server with a throw-away certificate, and an HTTP proxy
that tunnels ``CONNECT`` to it, so ``https://api.example.test`` is reached the way a proxy
on a company network would carry it. The environment is read once, when a client is built.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from connect_proxy import ConnectProxy
from hostile_server import HostileServer, Reply, ok
from tls_cert import ServerCert, make_cert

from tray_app.core.protocol import ApiError, ErrorCategory
from tray_app.services.http_client import ApiClient
from tray_app.services.http_errors import (
    BAD_CA_BUNDLE,
    BAD_PROXY,
    CANNOT_REACH,
    FAILED,
    NO_SUCH_HOST,
    REFUSED,
    TIMED_OUT,
    TLS_ERROR,
    transport_description,
)

SID = "f6b9af2a2c9e5b18ee2d257e3def5d66"
REMOTE = "https://api.example.test"
TUNNEL = "CONNECT api.example.test:443 HTTP/1.0"  # what http.client sends
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture
def cert(tmp_path: Path) -> ServerCert:
    return make_cert(tmp_path, "api.example.test")


@pytest.fixture
def tls_server(cert: ServerCert) -> Iterator[HostileServer]:
    with HostileServer(ok(f"OK: {SID}"), tls=cert.server_context()) as server:
        yield server


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (*PROXY_VARIABLES, "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


def test_a_certificate_nobody_vouched_for_is_a_tls_error(tls_server: HostileServer) -> None:
    with pytest.raises(ApiError) as caught:
        ApiClient(tls_server.base_url).ping(SID)
    assert caught.value.category is ErrorCategory.TRANSIENT
    assert caught.value.description == TLS_ERROR
    assert tls_server.requests == []


def test_a_remote_https_url_goes_through_the_environment_proxy_with_its_ca_bundle(
    tls_server: HostileServer, cert: ServerCert, clean_env: pytest.MonkeyPatch
) -> None:
    with ConnectProxy(target=tls_server.port) as proxy:
        clean_env.setenv("HTTPS_PROXY", proxy.url)
        clean_env.setenv("REQUESTS_CA_BUNDLE", str(cert.cert))
        client = ApiClient(REMOTE)
        assert client.ping(SID) == SID
        assert client.ping(SID) == SID
        assert proxy.lines == [TUNNEL]  # one tunnel, kept
    assert [seen.request_line for seen in tls_server.requests] == ["POST /http/ping HTTP/1.1"] * 2
    assert tls_server.requests[0].headers["host"] == "api.example.test"


def test_through_the_proxy_the_certificate_is_still_verified(
    tls_server: HostileServer, clean_env: pytest.MonkeyPatch
) -> None:
    with ConnectProxy(target=tls_server.port) as proxy:
        clean_env.setenv("HTTPS_PROXY", proxy.url)
        with pytest.raises(ApiError) as caught:
            ApiClient(REMOTE).ping(SID)
        assert proxy.lines == [TUNNEL]
    assert caught.value.description == TLS_ERROR
    assert tls_server.requests == []


def test_the_environment_is_read_once_when_the_client_is_built(
    tls_server: HostileServer, cert: ServerCert, clean_env: pytest.MonkeyPatch
) -> None:
    with ConnectProxy(target=tls_server.port) as proxy:
        clean_env.setenv("HTTPS_PROXY", proxy.url)
        clean_env.setenv("REQUESTS_CA_BUNDLE", str(cert.cert))
        client = ApiClient(REMOTE)
        clean_env.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # nothing listens there
        assert client.ping(SID) == SID
        assert len(proxy.lines) == 1


@pytest.mark.parametrize(
    "reply",
    [
        Reply(body=f"OK: {SID}".encode(), trickle=0.05),
        Reply(body=f"OK: {SID}".encode(), size=100, filler=b" ", trickle=0.05),
    ],
    ids=["headers a byte at a time", "body a byte at a time"],
)
def test_through_the_proxy_a_trickling_server_is_cut_off_at_the_deadline(
    cert: ServerCert, clean_env: pytest.MonkeyPatch, reply: Reply
) -> None:
    """The TLS socket over the tunnel keeps to the deadline too; without it the call ran to
    the end, each byte well within the read timeout."""
    with (
        HostileServer(reply, tls=cert.server_context()) as server,
        ConnectProxy(target=server.port) as proxy,
    ):
        clean_env.setenv("HTTPS_PROXY", proxy.url)
        clean_env.setenv("REQUESTS_CA_BUNDLE", str(cert.cert))
        with pytest.raises(ApiError) as caught:
            ApiClient(REMOTE, read_timeout=5.0, deadline=1.0).ping(SID)
        assert caught.value.description == "the server did not answer within 1 s"
        sent = server.requests[0].sent
    assert sent < (len(reply.head()) + len(reply.body) + (reply.size or 0)) // 2 + 1


def test_a_proxy_that_never_answers_connect_is_cut_off_at_the_deadline(
    clean_env: pytest.MonkeyPatch,
) -> None:
    """The tunnel's ``CONNECT`` exchange is part of the request: the plain socket keeps to
    the deadline from the moment it is connected, not only the TLS socket made after."""
    with socket.create_server(("127.0.0.1", 0)) as silent:  # the kernel accepts; nobody answers
        clean_env.setenv("HTTPS_PROXY", f"http://127.0.0.1:{silent.getsockname()[1]}")
        client = ApiClient(REMOTE, connect_timeout=60.0, read_timeout=60.0, deadline=0.5)
        with pytest.raises(ApiError) as caught:
            client.ping(SID)
    assert caught.value.description == "the server did not answer within 0.5 s"


def test_a_loopback_url_never_goes_through_an_environment_proxy(
    clean_env: pytest.MonkeyPatch,
) -> None:
    with HostileServer(ok(f"OK: {SID}")) as server, ConnectProxy(target=server.port) as proxy:
        for name in PROXY_VARIABLES[:3]:
            clean_env.setenv(name.upper(), proxy.url)
            clean_env.setenv(name, proxy.url)
        client = ApiClient(server.base_url)
        assert client.ping(SID) == SID
        assert client.forward("/http/getbalance", b"session_id=x").status == 200
        assert proxy.lines == []
    assert len(server.requests) == 2


def _failures() -> list[tuple[BaseException, str]]:
    """What ``pool.urlopen`` raises for the failures a loopback server cannot stage cheaply."""
    from urllib3 import HTTPConnectionPool
    from urllib3.connection import HTTPConnection
    from urllib3.exceptions import (
        ConnectTimeoutError,
        InvalidHeader,
        MaxRetryError,
        NameResolutionError,
        NewConnectionError,
        ProtocolError,
        ProxyError,
        ReadTimeoutError,
        SSLError,
    )

    pool = HTTPConnectionPool("api.example.test")
    conn = HTTPConnection("api.example.test")

    def retried(reason: Exception) -> MaxRetryError:
        return MaxRetryError(pool, "/http/ping", reason)

    gaierror = socket.gaierror(-2, "Name or service not known")
    refused = ConnectionRefusedError(111, "Connection refused")
    return [
        (retried(ConnectTimeoutError(conn, "connect timed out")), TIMED_OUT),
        (retried(NameResolutionError("api.example.test", conn, gaierror)), NO_SUCH_HOST),
        (retried(NewConnectionError(conn, f"Failed to connect: {refused}")), REFUSED),
        (retried(SSLError("certificate verify failed")), TLS_ERROR),
        (retried(ProxyError("Unable to connect to proxy", OSError("reset"))), CANNOT_REACH),
        (ReadTimeoutError(pool, "/http/ping", "read timed out"), TIMED_OUT),
        (ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")), CANNOT_REACH),
        (InvalidHeader("bad header"), FAILED),
    ]


@pytest.mark.parametrize(("error", "words"), _failures())
def test_each_transport_failure_reads_for_a_person(error: BaseException, words: str) -> None:
    assert transport_description(error) == words


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("REQUESTS_CA_BUNDLE", "/nonexistent/clickatell-tray-ca.pem", BAD_CA_BUNDLE),
        ("HTTPS_PROXY", "http://", BAD_PROXY),
        ("HTTPS_PROXY", "ftp://user:hunter2@proxy.example.test:21", BAD_PROXY),
    ],
)
def test_a_broken_environment_setting_is_named_not_quoted(
    clean_env: pytest.MonkeyPatch, variable: str, value: str, words: str
) -> None:
    """A CA bundle that is not there or a proxy URL that is no URL: the variable to mend is
    named, and nothing of its value (a proxy URL may hold a password) is repeated."""
    clean_env.setenv(variable, value)
    with pytest.raises(ApiError) as caught:
        ApiClient(REMOTE).ping(SID)
    assert caught.value.description == words
    assert "hunter2" not in str(caught.value) and "hunter2" not in caught.value.raw
