"""A local https image server for tests, and what a fetcher needs to reach it.

The server listens on 127.0.0.1 only, with a certificate from a throw-away CA (trustme) for the
names in ``HOSTS``; ``MapResolver`` is the test's DNS. A fetcher reaches it only when a test
says so explicitly (see ``make_fetcher`` in ``conftest.py``).
"""

from __future__ import annotations

import asyncio
import functools
import io
import ipaddress
import socket
import struct
import zlib
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from PIL import Image

HOSTS = ("images.test", "other.test", "localhost")
LOOPBACK = ipaddress.ip_address("127.0.0.1")


def png(size: tuple[int, int] = (64, 48), color: tuple[int, ...] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB" if len(color) == 3 else "RGBA", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG that claims ``width x height`` pixels but is a few bytes long: a bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (32, 32), color) for color in ((255, 0, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


class MapResolver(AbstractResolver):
    """Test DNS: each name answers the addresses it is mapped to, in turn on every lookup."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups.append(host)
        answers = self.answers.get(host)
        if not answers:
            raise OSError(f"no such host {host}")
        address = answers[0] if len(answers) == 1 else answers.pop(0)
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [
            ResolveResult(hostname=host, host=address, port=port, family=family, proto=0, flags=0)
        ]

    async def close(self) -> None:
        pass


@dataclass
class Server:
    port: int
    hits: dict[str, int] = field(default_factory=dict)

    def url(self, path: str, host: str = "images.test") -> str:
        return f"https://{host}:{self.port}{path}"


async def _slow(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "image/png"})
    response.content_length = 10_000
    await response.prepare(request)
    await response.write(png()[:100])
    await asyncio.sleep(5)
    return response


async def _chunked_big(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "image/png"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    for _ in range(64):  # 4 MiB, never announced
        await response.write(b"\x00" * 65536)
    return response


@functools.cache
def _bodies() -> dict[str, tuple[bytes, str]]:
    bodies: dict[str, tuple[bytes, str]] = {
        "/red.png": (png(), "image/png"),
        "/big.png": (png((1500, 900), (10, 200, 10)), "image/png"),
        "/clear.png": (png((16, 16), (0, 0, 0, 0)), "image/png"),
        "/bomb.png": (png_header_only(60_000, 60_000), "image/png"),
        "/anim.gif": (animated_gif(), "image/gif"),
        "/page.html": (b"<html><body>not an image</body></html>", "text/html"),
        "/large": (b"\x00" * (3 * 1024 * 1024), "image/png"),
    }
    bmp = io.BytesIO()
    Image.new("RGB", (8, 8)).save(bmp, "BMP")
    bodies["/image.bmp"] = (bmp.getvalue(), "image/bmp")
    return bodies


def build_app(server: Server) -> web.Application:
    bodies = _bodies()

    async def static(request: web.Request) -> web.Response:
        server.hits[request.path] = server.hits.get(request.path, 0) + 1
        body, kind = bodies[request.path]
        return web.Response(body=body, content_type=kind)

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    app = web.Application()
    for path in bodies:
        app.router.add_get(path, static)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/loop", loop)
    app.router.add_get("/slow", _slow)
    app.router.add_get("/chunked", _chunked_big)
    return app
