"""The web server against hostile clients: half-sent requests, too many connections, other
sites' posts, and the headers every answer carries. Raw sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from imagine_bot.app import ImagineApp
from imagine_bot.bot.web.guards import SECURITY_HEADERS
from imagine_bot.bot.web.server import WebServer
from imagine_bot.config import load_settings

CLIENTS = 50
LIMIT = 20
WAIT_S = 20.0
"""How long a client waits for the server to close; far past the timeouts, so only a server
that never closes reaches it."""

routes = web.RouteTableDef()


@routes.get("/page")
async def page(request: web.Request) -> web.Response:
    return web.Response(text="a page")


@routes.post("/form")
async def form(request: web.Request) -> web.Response:
    fields = await request.post()
    return web.Response(text=f"{len(fields)} fields")


Start = Callable[[float], Awaitable[WebServer]]


@pytest.fixture
async def start(tmp_path: Path, test_env: dict[str, str]) -> AsyncIterator[Start]:
    servers: list[WebServer] = []

    async def start(timeout_s: float) -> WebServer:
        settings = load_settings(
            env={
                **test_env,
                "IMAGINE_PATHS__DATA_DIR": str(tmp_path),
                "IMAGINE_WEB__HEADER_TIMEOUT_S": str(timeout_s),
                "IMAGINE_WEB__BODY_TIMEOUT_S": str(timeout_s),
                "IMAGINE_WEB__MAX_CONNECTIONS": str(LIMIT),
            }
        )
        web_server = WebServer(ImagineApp.build(settings))
        web_server.add_routes(routes)
        await web_server.start()
        servers.append(web_server)
        return web_server

    yield start
    for web_server in servers:
        await web_server.stop()


@pytest.fixture
async def server(start: Start) -> WebServer:
    return await start(0.5)


Client = tuple[asyncio.StreamReader, asyncio.StreamWriter]
"""Both ends: a dropped writer closes its socket."""


async def half_send(server: WebServer, request: bytes) -> Client:
    host, port = server.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(request)
    await writer.drain()
    return reader, writer


async def outcome(client: Client) -> str:
    """``busy`` (answered 503), ``closed`` (closed by the server without an answer) or
    ``held`` (still open after WAIT_S)."""
    try:
        answer = await asyncio.wait_for(client[0].read(), WAIT_S)
    except TimeoutError:
        return "held"
    except ConnectionResetError:
        return "closed"
    return "busy" if answer.startswith(b"HTTP/1.1 503") else "closed"


async def test_half_sent_requests_are_closed_after_the_timeout(server: WebServer) -> None:
    request = b"GET /page HTTP/1.1\r\nHost: x\r\nX-Slow: 1"
    clients = await asyncio.gather(*(half_send(server, request) for _ in range(CLIENTS)))
    outcomes = await asyncio.gather(*map(outcome, clients))
    held, busy = outcomes.count("held"), outcomes.count("busy")
    closed = CLIENTS - held
    print(f"{CLIENTS} half-sent, limit {LIMIT}: {held} held, {closed} closed ({busy} as busy)")
    assert (held, closed) == (0, CLIENTS)
    # Once they are gone, the server takes new requests again.
    status, _ = await fetch(server, "GET", "/page")
    assert status == 200


async def test_connections_past_the_limit_are_answered_busy(start: Start) -> None:
    server = await start(WAIT_S * 10)  # nothing times out during this test
    request = b"GET /page HTTP/1.1\r\nHost: x\r\nX-Slow: 1"
    held = [await half_send(server, request) for _ in range(LIMIT)]
    extra = await asyncio.gather(*(half_send(server, b"") for _ in range(CLIENTS - LIMIT)))
    outcomes = await asyncio.gather(*map(outcome, extra))
    assert outcomes == ["busy"] * (CLIENTS - LIMIT)
    assert not any(reader.at_eof() for reader, _ in held)


async def test_a_half_sent_body_is_closed(server: WebServer) -> None:
    reader, _writer = await half_send(
        server,
        b"POST /form HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 1000\r\n\r\na=1",
    )
    answer = await asyncio.wait_for(reader.read(), WAIT_S)
    assert answer.startswith(b"HTTP/1.1 408")


async def fetch(
    server: WebServer, method: str, path: str, **kwargs: object
) -> tuple[int, aiohttp.typedefs.LooseHeaders]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, server.base_url + path, **kwargs) as response,  # type: ignore[arg-type]
    ):
        await response.read()
        return response.status, response.headers


@pytest.mark.parametrize("path", ["/page", "/nothing-here", "/static/page.css"])
async def test_every_answer_carries_the_security_headers(server: WebServer, path: str) -> None:
    _, headers = await fetch(server, "GET", path)
    for name, value in SECURITY_HEADERS.items():
        assert headers[name] == value  # type: ignore[index]


async def test_posts_from_other_sites_are_refused(server: WebServer) -> None:
    status, _ = await fetch(
        server, "POST", "/form", data={"a": "1"}, headers={"Origin": "https://evil.example"}
    )
    assert status == 403
    status, _ = await fetch(
        server, "POST", "/form", data={"a": "1"}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert status == 403
    status, _ = await fetch(
        server, "POST", "/form", data={"a": "1"}, headers={"Origin": server.base_url}
    )
    assert status == 200


async def test_a_malformed_upload_is_a_400(server: WebServer) -> None:
    status, _ = await fetch(
        server,
        "POST",
        "/form",
        data=b"--xx\r\nno headers here",
        headers={"Content-Type": "multipart/form-data; boundary=zz"},
    )
    assert status == 400
