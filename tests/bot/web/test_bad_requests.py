"""A visitor's bad input is a 400, and a failure's log line never holds a whole link token."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from imagine_bot.app import ImagineApp
from imagine_bot.bot.web.gallery import GalleryPages, GalleryScope
from imagine_bot.bot.web.server import WebServer
from imagine_bot.config import load_settings

routes = web.RouteTableDef()


@routes.get("/crash/{token}")
async def crash(request: web.Request) -> web.Response:
    raise RuntimeError("a bug")


async def whole_server(channel_id: int, member_id: int) -> GalleryScope:
    return GalleryScope("a server", frozenset({channel_id}))


@pytest.fixture
async def server(tmp_path: Path, test_env: dict[str, str]) -> AsyncIterator[WebServer]:
    settings = load_settings(env={**test_env, "IMAGINE_PATHS__DATA_DIR": str(tmp_path)})
    app = ImagineApp.build(settings)
    await app.start()
    web_server = WebServer(app)
    web_server.add_routes(routes)
    web_server.add_routes(GalleryPages(whole_server).routes)
    await web_server.start()
    yield web_server
    await web_server.stop()
    await app.stop()


async def status_of(url: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status


@pytest.mark.parametrize("page", ["1", "2", "1000000"])
async def test_gallery_pages_in_range_open(server: WebServer, page: str) -> None:
    token = server.links.sign("gallery", 1, "", channel_id=5)
    assert await status_of(f"{server.url('gallery', token)}?page={page}") == 200


@pytest.mark.parametrize("page", ["99999999999999999999", "1000001", "0", "-3", "x", "²"])
async def test_a_gallery_page_out_of_range_is_a_400(server: WebServer, page: str) -> None:
    token = server.links.sign("gallery", 1, "", channel_id=5)
    assert await status_of(f"{server.url('gallery', token)}?page={page}") == 400


async def test_a_failure_logs_a_hash_of_the_link_not_the_link(
    server: WebServer, caplog: pytest.LogCaptureFixture
) -> None:
    token = server.links.sign("gallery", 1, "", channel_id=5)
    with caplog.at_level(logging.ERROR):
        assert await status_of(f"{server.base_url}/crash/{token}") == 500
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "/crash/<link " in logged
    assert token not in caplog.text and token.split(".")[1] not in caplog.text
