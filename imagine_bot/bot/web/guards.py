"""What keeps the web server up and its pages private against a hostile visitor.

- **Slow or idle clients**: a connection must send a request's headers within
  ``header_timeout_s`` of opening (or of the previous answer), and its body within
  ``body_timeout_s``; else it is closed. At most ``max_connections`` are open at once: the next
  one is answered 503 and closed, so half-sent requests cannot take every file descriptor.
- **Other sites**: every answer forbids framing, inline scripts, anything from elsewhere and
  sending the link in a ``Referer``; a post whose ``Origin`` is another site is refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from imagine_bot.config.web import WebSettings

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 35\r\n\r\nThe server is busy; try again soon."
)


class DamagedUpload(Exception):
    """A request body that cannot be read as the form it claims to be."""


def middlewares(settings: WebSettings, own_url: Callable[[], str], plain_errors: Any) -> list[Any]:
    """The middlewares, outermost first: headers on every answer, ``plain_errors`` (which
    words failures), the origin check, the body read in time. ``own_url`` is where links
    point (known once the server is bound)."""

    @web.middleware
    async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as refusal:
            refusal.headers.update(SECURITY_HEADERS)
            raise
        response.headers.update(SECURITY_HEADERS)
        return response

    @web.middleware
    async def same_origin_posts(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD", "OPTIONS") and not _same_origin(
            request, own_url()
        ):
            return web.Response(status=403, text="Posts from other sites are not accepted.")
        return await handler(request)

    @web.middleware
    async def body_in_time(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.body_exists:
            try:
                async with asyncio.timeout(settings.body_timeout_s):
                    await _read_body(request)
            except TimeoutError:
                too_slow = web.Response(status=408, text="The upload was too slow.")
                too_slow.force_close()
                return too_slow
        return await handler(request)

    return [security_headers, plain_errors, same_origin_posts, body_in_time]


async def _read_body(request: web.Request) -> None:
    """Read the whole body now (the request keeps it for the handler)."""
    try:
        if request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            await request.post()
        else:
            await request.read()
    except (ValueError, AssertionError, UnicodeDecodeError) as error:
        # aiohttp's multipart reader says "damaged" with these.
        raise DamagedUpload(type(error).__name__) from None


def _same_origin(request: web.Request, own_url: str) -> bool:
    """Whether a post came from our own pages: without ``Origin`` (not a browser, which holds
    the link anyway) what ``Sec-Fetch-Site`` says, else an origin naming us, as configured
    (behind a proxy) or as addressed."""
    origin = request.headers.get("Origin")
    if origin is None:
        return request.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")
    netloc = urlsplit(origin).netloc
    return netloc in (urlsplit(own_url).netloc, request.host)


async def listen(server: web.Server, host: str, port: int, max_connections: int) -> asyncio.Server:
    """A listening socket for ``server`` that answers 503 past ``max_connections``."""
    open_connections = 0

    def release() -> None:
        nonlocal open_connections
        open_connections -= 1

    def protocol() -> asyncio.BaseProtocol:
        # Counted here, not from server.connections: a burst of accepts creates several
        # protocols before the first of them is connected.
        nonlocal open_connections
        if open_connections >= max_connections:
            return _Busy()
        open_connections += 1
        return _Counted(server(), release)

    loop = asyncio.get_running_loop()
    return await loop.create_server(protocol, host, port, reuse_address=True)


class _Counted(asyncio.Protocol):
    """aiohttp's protocol for one connection, telling ``release`` when it is gone."""

    def __init__(self, inner: asyncio.Protocol, release: Callable[[], None]) -> None:
        self._inner = inner
        self._release = release

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        try:
            self._inner.connection_lost(exc)
        finally:
            self._release()


class _Busy(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(_BUSY)
        transport.close()
