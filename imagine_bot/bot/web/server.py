"""The bot's web server: an aiohttp application on the bot's own event loop.

Page modules add their routes (``WebServer.add_routes``) before the server starts, usually
from a bot extension's ``setup``; handlers reach the server (links, settings, and ``app``, the
``ImagineApp``) through ``request.app[SERVER]``. Every failure a visitor can cause ends in a
short plain page: a ``BadLink`` is a 403, an oversized body a 413, anything unexpected a 500
without a traceback.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import logging
from collections.abc import Awaitable, Callable, Iterable
from importlib import resources
from pathlib import Path

from aiohttp import web

from imagine_bot.app import ImagineApp
from imagine_bot.bot.web import guards
from imagine_bot.bot.web.links import BadLink, LinkSigner, load_secret
from imagine_bot.engine.errors import UserError

log = logging.getLogger(__name__)

STATIC_DIR = Path(str(resources.files("imagine_bot.bot.web").joinpath("static")))
STATIC_PREFIX = "/static"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class WebServer:
    def __init__(self, app: ImagineApp, links: LinkSigner | None = None) -> None:
        self.app = app
        self.settings = app.settings.web
        self.links = links or LinkSigner(
            load_secret(app.settings.paths.data_dir), self.settings.link_minutes * 60
        )
        self.application = web.Application(
            client_max_size=self.settings.max_upload_bytes,
            middlewares=guards.middlewares(
                self.settings, lambda: self.base_url, self._plain_errors
            ),
        )
        self.application[SERVER] = self
        self.application.router.add_static(STATIC_PREFIX, STATIC_DIR)
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
        self._bound_url: str | None = None
        self.gateway_connected: Callable[[], bool] | None = None
        """Set by the Discord client: is it connected to Discord's gateway now? (``/healthz``)"""

    def add_routes(self, routes: Iterable[web.AbstractRouteDef]) -> None:
        """Add a page module's routes (an ``aiohttp.web.RouteTableDef``); before ``start``."""
        self.application.add_routes(routes)

    @property
    def base_url(self) -> str:
        """Where links point: ``public_url``, or the address actually bound when the listen
        port is 0."""
        if self.settings.port == 0 and self._bound_url is not None:
            return self._bound_url
        return self.settings.public_url

    def url(self, page: str, token: str) -> str:
        return f"{self.base_url}/{page}/{token}"

    async def start(self) -> None:
        # aiohttp's keep-alive timer runs from the moment a connection opens until a request's
        # headers are in: it is the header read timeout.
        self._runner = web.AppRunner(
            self.application, access_log=None, keepalive_timeout=self.settings.header_timeout_s
        )
        await self._runner.setup()
        assert self._runner.server is not None
        try:
            self._listener = await guards.listen(
                self._runner.server,
                self.settings.host,
                self.settings.port,
                self.settings.max_connections,
            )
        except OSError as error:
            await self.stop()
            raise UserError(
                f"The web server cannot listen on {self.settings.listen} ({error.strerror}): "
                "set [web] listen to a free address, or enabled = false."
            ) from None
        host, port = self._listener.sockets[0].getsockname()[:2]
        self._bound_url = f"http://{host}:{port}"
        log.info("web server on %s (links point at %s)", self._bound_url, self.base_url)
        if (warning := self.settings.public_url_warning) is not None:
            log.warning("%s", warning)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _plain_errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except BadLink as refusal:
            return plain_page("Link refused", str(refusal), status=403)
        except guards.DamagedUpload:
            return plain_page("Damaged upload", "That upload could not be read; try again.", 400)
        except web.HTTPRequestEntityTooLarge:
            limit = self.settings.max_upload_bytes / (1024 * 1024)
            return plain_page(
                "Too large", f"That upload is larger than this server accepts ({limit:g} MB).", 413
            )
        except web.HTTPException:
            raise
        except Exception:
            log.exception("web request %s %s failed", request.method, logged_path(request))
            return plain_page("Error", "Something went wrong on the server; try again.", 500)


SERVER = web.AppKey("server", WebServer)


def logged_path(request: web.Request) -> str:
    """The path with its link token replaced by a short hash: a logged token would let
    whoever reads the logs act as the member until it expires."""
    token = request.match_info.get("token")
    if not token:
        return request.path
    digest = hashlib.sha256(token.encode()).hexdigest()[:12]
    return request.path.replace(token, f"<link {digest}>")


def plain_page(title: str, message: str, status: int = 200) -> web.Response:
    """A small HTML page with one sentence on it."""
    body = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title>"
        f"<link rel='stylesheet' href='{STATIC_PREFIX}/page.css'></head>"
        f"<body><main class='notice'><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(message)}</p></main></body></html>"
    )
    return web.Response(status=status, text=body, content_type="text/html")
