"""The transports against real loopback servers: every failure is a Reply, never an exception."""

# Fixtures are imported from tests.servers, so test arguments shadow the imported names by design.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import gc
import gzip
import hashlib
import json
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from aiohttp import web

from paritycheck.errors import BackendError, ConfigError
from paritycheck.models import Request, header
from paritycheck.replay import (
    AiohttpTransport,
    HttpxTransport,
    Transport,
    check_base_url,
    join_url,
    make_transport,
)
from paritycheck.replay.transport import oversized_body
from tests.servers import (  # noqa: F401 - fixtures
    HUGE_SIZE,
    JsonServer,
    Raw,
    binary_url,
    garbage_url,
    hang_url,
    huge_callback,
    huge_url,
    json_serve,
    json_server,
    mid_body_url,
    png_bytes,
    refused_url,
    reset_url,
    serve,
)

if TYPE_CHECKING:
    import trustme

KINDS = ["http1", "aiohttp", "httpx"]


def get(target: str = "/items", *, headers: tuple[tuple[str, str], ...] = ()) -> Request:
    path, _, query = target.partition("?")
    return Request("GET", f"https://captured.example{target}", path, query, headers)


@pytest.fixture(params=KINDS)
async def transport(request: pytest.FixtureRequest) -> AsyncIterator[Transport]:
    t = make_transport(request.param, concurrency=4)
    yield t
    await t.aclose()


def echoed(body: bytes) -> dict[str, object]:
    data = json.loads(body)
    assert isinstance(data, dict)
    return data


async def test_json_reply(transport: Transport, json_server: JsonServer) -> None:
    json_server.routes["/items"] = {"items": [1, 2]}
    reply = await transport.send(json_server.url, get("/items?page=2"), headers={}, timeout=5)
    assert reply.error is None
    assert reply.status == 200
    assert json.loads(reply.body) == {"items": [1, 2]}
    assert header(reply.headers, "content-type") == "application/json; charset=utf-8"
    assert all(name == name.lower() for name, _ in reply.headers)
    assert reply.elapsed_ms > 0
    assert json_server.requests[0].query == "page=2"


@pytest.mark.parametrize(
    ("fixture", "error"),
    [
        ("refused_url", "connection refused"),
        ("reset_url", "connection reset"),
        ("hang_url", "timeout after 0.3s"),
        ("garbage_url", "invalid HTTP response: bad status line"),
        ("mid_body_url", "connection closed mid-body"),
    ],
)
async def test_failures_are_replies(
    transport: Transport, request: pytest.FixtureRequest, fixture: str, error: str
) -> None:
    url = request.getfixturevalue(fixture)
    reply = await transport.send(url, get(), headers={}, timeout=0.3)
    assert (reply.status, reply.error, reply.body) == (0, error, b"")
    assert reply.failed


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("chunked", [False, True])
async def test_max_body_is_configurable(kind: str, chunked: bool) -> None:
    t = make_transport(kind, concurrency=1, max_body=1024)
    try:
        with (
            serve(Raw(huge_callback(1025, chunked=chunked))) as too_big,
            serve(Raw(huge_callback(1024))) as fits,
        ):
            over = await t.send(too_big, get(), headers={}, timeout=5)
            exact = await t.send(fits, get(), headers={}, timeout=5)
    finally:
        await t.aclose()
    # Over max_body the body is compared by size and SHA-256, not failed.
    assert (over.status, over.error) == (200, None)
    assert over.body == oversized_body(1025, hashlib.sha256(b"x" * 1025).hexdigest())
    assert (exact.error, exact.body) == (None, b"x" * 1024)


async def test_a_body_over_the_default_limit_is_summarised(transport: Transport, huge_url: str) -> None:
    reply = await transport.send(huge_url, get(), headers={}, timeout=30)
    assert (reply.status, reply.error) == (200, None)
    digest = hashlib.sha256(b"x" * HUGE_SIZE).hexdigest()
    assert json.loads(reply.body) == {"paritycheck_oversized_body": {"bytes": HUGE_SIZE, "sha256": digest}}


def test_huge_fixture_exceeds_the_default_limit() -> None:
    assert HUGE_SIZE > 32 * 1024 * 1024


async def test_binary_body(transport: Transport, binary_url: str) -> None:
    reply = await transport.send(binary_url, get("/logo.png"), headers={}, timeout=5)
    assert reply.body == png_bytes()
    assert header(reply.headers, "content-type") == "image/png"


async def test_configured_header_replaces_captured_one(transport: Transport, json_server: JsonServer) -> None:
    captured = (
        ("host", "captured.example"),
        ("authorization", "Bearer stale"),
        ("x-multi", "a"),
        ("x-multi", "b"),
        ("accept-encoding", "zstd, identity"),
    )
    configured = {"Authorization": "Bearer fresh", "X-Env": "shadow"}
    reply = await transport.send(json_server.url, get(headers=captured), headers=configured, timeout=5)
    seen = dict(json_server.requests[0].headers)
    sent = [v for k, v in json_server.requests[0].headers if k == "authorization"]
    assert sent == ["Bearer fresh"]
    assert [v for k, v in json_server.requests[0].headers if k == "x-multi"] == ["a", "b"]
    assert seen["x-env"] == "shadow"
    assert seen["host"] == json_server.url.removeprefix("http://")
    assert "zstd" not in seen.get("accept-encoding", "")
    assert reply.status == 200


async def test_post_body_is_sent(transport: Transport, json_server: JsonServer) -> None:
    request = Request(
        "POST", "https://x/orders", "/orders", "", (("content-type", "application/json"),), b'{"a":1}'
    )
    reply = await transport.send(json_server.url, request, headers={}, timeout=5)
    assert echoed(reply.body)["body"] == '{"a":1}'
    assert json_server.requests[0].method == "POST"


async def test_redirect_to_another_host_is_returned_not_followed(
    transport: Transport, json_server: JsonServer
) -> None:
    with json_serve() as elsewhere:

        async def redirect(request: web.Request) -> web.StreamResponse:
            return web.Response(status=302, headers={"Location": f"{elsewhere.url}/stolen"})

        json_server.routes["/go"] = redirect
        reply = await transport.send(
            json_server.url, get("/go"), headers={"Authorization": "secret"}, timeout=5
        )
        assert elsewhere.requests == []
    assert reply.status == 302
    assert header(reply.headers, "location") == f"{elsewhere.url}/stolen"


@pytest.mark.parametrize("prefix", ["/v2", "/v2/"])
async def test_base_url_path_prefix(transport: Transport, json_server: JsonServer, prefix: str) -> None:
    reply = await transport.send(json_server.url + prefix, get("/items/7?x=1"), headers={}, timeout=5)
    assert reply.status == 200
    assert (json_server.requests[0].path, json_server.requests[0].query) == ("/v2/items/7", "x=1")


async def test_percent_encoding_is_sent_as_captured(transport: Transport, json_server: JsonServer) -> None:
    await transport.send(json_server.url, get("/files/a%2Fb?q=caf%C3%A9"), headers={}, timeout=5)
    assert json_server.requests[0].target == "/files/a%2Fb?q=caf%C3%A9"


async def test_repeated_response_headers_are_kept(transport: Transport, json_server: JsonServer) -> None:
    async def cookies(request: web.Request) -> web.StreamResponse:
        response = web.Response(text="{}", content_type="application/json")
        response.headers.add("X-Dup", "1")
        response.headers.add("X-Dup", "2")
        return response

    json_server.routes["/c"] = cookies
    reply = await transport.send(json_server.url, get("/c"), headers={}, timeout=5)
    assert [v for k, v in reply.headers if k == "x-dup"] == ["1", "2"]


async def test_gzip_body_is_decompressed(transport: Transport, json_server: JsonServer) -> None:
    async def zipped(request: web.Request) -> web.StreamResponse:
        body = gzip.compress(b'{"zipped": true}')
        return web.Response(
            body=body, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
        )

    json_server.routes["/z"] = zipped
    reply = await transport.send(json_server.url, get("/z"), headers={}, timeout=5)
    assert json.loads(reply.body) == {"zipped": True}


async def test_environment_proxies_are_ignored(
    transport: Transport, json_server: JsonServer, refused_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, refused_url)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    reply = await transport.send(json_server.url, get(), headers={}, timeout=5)
    assert reply.status == 200


@pytest.mark.parametrize(
    ("base", "target", "url"),
    [
        ("http://h:5000", "/a?b=1", "http://h:5000/a?b=1"),
        ("http://h:5000/", "/a", "http://h:5000/a"),
        ("http://h:5000/v2/", "/a", "http://h:5000/v2/a"),
        ("http://h:5000", "@evil.example/x", "http://h:5000/@evil.example/x"),
        ("http://h:5000", "//evil.example/x", "http://h:5000//evil.example/x"),
    ],
)
def test_join_url_never_changes_the_host(base: str, target: str, url: str) -> None:
    assert join_url(base, target) == url
    assert httpx.URL(join_url(base, target)).host == "h"


@pytest.mark.parametrize("url", ["ftp://h/", "h:5000", "http://h:5000/?a=1", "http://user:pw@h/", ""])
def test_bad_base_url_is_a_backend_error(url: str) -> None:
    with pytest.raises(BackendError) as info:
        check_base_url(url)
    assert info.value.hint


def test_unknown_transport_kind() -> None:
    with pytest.raises(ConfigError, match="unknown transport 'curl'"):
        make_transport("curl", concurrency=1)


async def test_httpx_mock_transport_in_process() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/down":
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        return httpx.Response(
            200, json={"path": request.url.path, "auth": request.headers.get("authorization")}
        )

    t = HttpxTransport(concurrency=2, transport=httpx.MockTransport(handler))
    try:
        ok = await t.send(
            "http://legacy.test/api", get("/users/1"), headers={"authorization": "k"}, timeout=1
        )
        down = await t.send("http://legacy.test", get("/down"), headers={}, timeout=1)
    finally:
        await t.aclose()
    assert json.loads(ok.body) == {"path": "/api/users/1", "auth": "k"}
    assert (down.status, down.error) == (0, "connection refused")


async def test_aclose_twice_and_reuse_after_close(json_server: JsonServer) -> None:
    t = AiohttpTransport(concurrency=2)
    first = await t.send(json_server.url, get(), headers={}, timeout=5)
    await t.aclose()
    await t.aclose()
    again = await t.send(json_server.url, get(), headers={}, timeout=5)
    await t.aclose()
    assert first.status == again.status == 200


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    import trustme  # imported by the TLS tests alone: ~45 ms in every test process that collects this file

    return trustme.CA()


@pytest.fixture
def tls_server(authority: trustme.CA) -> Iterator[str]:
    """An HTTPS JSON backend whose certificate, for localhost, comes from ``authority``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost", "127.0.0.1").configure_cert(context)

    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"secure": request.secure, "path": request.path})

    with serve(handler, tls=context) as url:
        yield url


async def test_https_backend_trusted_through_ssl_cert_file(
    tls_server: str,
    authority: trustme.CA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The default client verifies against the machine's trust store, which an operator extends with an
    internal CA through SSL_CERT_FILE. (aiohttp reads it once, at import; httpx never, with certifi.)"""
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    transport = make_transport(concurrency=1)
    reply = await transport.send(tls_server + "/api", get("/items"), headers={}, timeout=5)
    assert (reply.status, reply.error) == (200, None)
    assert json.loads(reply.body) == {"secure": True, "path": "/api/items"}
    second = await transport.send(tls_server, get("/again"), headers={}, timeout=5)  # kept alive
    await transport.aclose()
    assert json.loads(second.body) == {"secure": True, "path": "/again"}


# asyncio (3.11) and aiohttp leave the socket of a failed TLS handshake to the garbage collector, whose
# ResourceWarning would otherwise fail whichever test happens to be running when it collects.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_https_backend_with_an_untrusted_certificate_is_a_tls_error(
    transport: Transport, tls_server: str
) -> None:
    reply = await transport.send(tls_server, get(), headers={}, timeout=5)
    await asyncio.sleep(0.05)  # the failed handshake's callbacks run
    gc.collect()  # here, under this test's filter
    assert (reply.status, reply.error, reply.body) == (0, "TLS error", b"")


async def test_a_method_that_is_not_a_token_is_refused_by_every_client(
    transport: Transport, json_server: JsonServer
) -> None:
    # The method a capture gave decides the request line: "GET /admin?x=" would ask for /admin.
    hostile = Request("GET /admin?x=", "https://x/public", "/public")
    reply = await transport.send(json_server.url, hostile, headers={}, timeout=5)
    assert (reply.status, reply.error) == (0, "client error: the method is not an HTTP token")
    assert json_server.requests == []


@pytest.mark.parametrize("kind", KINDS)
async def test_endless_reply_headers_fail_the_reply(kind: str) -> None:
    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\n")
        for i in range(100_000):  # ~10 MB of header fields, far past every client's bound
            writer.write(b"x-pad-%d: %s\r\n" % (i, b"a" * 90))
            await writer.drain()

    t = make_transport(kind, concurrency=1)
    try:
        with serve(Raw(endless)) as url:
            reply = await t.send(url, get(), headers={}, timeout=10)
    finally:
        await t.aclose()
    assert reply.status == 0
    assert reply.error is not None and reply.error.startswith("invalid HTTP response")
