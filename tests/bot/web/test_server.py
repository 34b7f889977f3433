"""The web server: routes from page modules, plain error pages, the body cap, port 0."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from imagine_bot.app import ImagineApp
from imagine_bot.bot.web.links import BadLink
from imagine_bot.bot.web.server import SERVER, WebServer
from imagine_bot.config import load_settings

routes = web.RouteTableDef()


@routes.get("/refuse")
async def refuse(request: web.Request) -> web.Response:
    raise BadLink("This link has expired: press the button in Discord again.")


@routes.get("/crash")
async def crash(request: web.Request) -> web.Response:
    raise RuntimeError("secret internals")


@routes.post("/upload")
async def upload(request: web.Request) -> web.Response:
    body = await request.read()
    return web.Response(text=f"{len(body)} bytes for {request.app[SERVER].settings.listen}")


@pytest.fixture
async def server(tmp_path: Path, test_env: dict[str, str]) -> AsyncIterator[WebServer]:
    settings = load_settings(
        env={
            **test_env,
            "IMAGINE_PATHS__DATA_DIR": str(tmp_path),
            "IMAGINE_WEB__MAX_UPLOAD_BYTES": "2048",
        }
    )
    web_server = WebServer(ImagineApp.build(settings))
    web_server.add_routes(routes)
    await web_server.start()
    yield web_server
    await web_server.stop()


async def fetch(method: str, url: str, data: bytes | None = None) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.request(method, url, data=data) as r:
        return r.status, await r.text()


async def test_links_point_at_the_bound_port_when_listening_on_port_0(server: WebServer) -> None:
    assert server.base_url.startswith("http://127.0.0.1:")
    assert not server.base_url.endswith(":0")
    assert server.url("region", "tok") == f"{server.base_url}/region/tok"


async def test_a_bad_link_is_a_plain_403_page(server: WebServer) -> None:
    status, text = await fetch("GET", f"{server.base_url}/refuse")
    assert status == 403
    assert "This link has expired: press the button in Discord again." in text
    assert text.startswith("<!doctype html>")


async def test_an_unexpected_error_shows_no_traceback(server: WebServer) -> None:
    status, text = await fetch("GET", f"{server.base_url}/crash")
    assert status == 500
    assert "Something went wrong" in text
    assert "secret internals" not in text and "Traceback" not in text


async def test_request_bodies_are_capped(server: WebServer) -> None:
    assert await fetch("POST", f"{server.base_url}/upload", b"x" * 2000) == (
        200,
        "2000 bytes for 127.0.0.1:0",
    )
    status, text = await fetch("POST", f"{server.base_url}/upload", b"x" * 5000)
    assert status == 413
    assert "larger than this server accepts" in text


async def test_static_files_are_served(server: WebServer) -> None:
    status, text = await fetch("GET", f"{server.base_url}/static/page.css")
    assert status == 200 and "--accent" in text


def test_listen_must_be_host_and_port() -> None:
    from imagine_bot.config import SettingsError

    with pytest.raises(SettingsError, match="host:port"):
        load_settings(env={"IMAGINE_WEB__LISTEN": "localhost"})


def test_the_secret_variable_is_not_read_as_a_setting() -> None:
    settings = load_settings(env={"IMAGINE_WEB_SECRET": "x"})
    assert settings.web.public_url == "http://127.0.0.1:8765"
