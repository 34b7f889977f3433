"""A started app with its web server answering /healthz and /metrics, for tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from imagine_bot.app import ImagineApp
from imagine_bot.bot.web import ops
from imagine_bot.bot.web.server import WebServer
from imagine_bot.config import Settings


@asynccontextmanager
async def ops_server(
    settings: Settings, gateway_connected: Callable[[], bool] | None = None
) -> AsyncIterator[tuple[ImagineApp, str]]:
    """The app, started as `imagine-bot run` starts it, and its web server's base URL;
    ``gateway_connected`` stands in for the Discord client's."""
    app = ImagineApp.build(settings)
    await app.start()
    app.start_workers()
    server = WebServer(app)
    server.add_routes(ops.routes)
    server.gateway_connected = gateway_connected
    await server.start()
    try:
        yield app, server.base_url
    finally:
        await server.stop()
        await app.stop()
