"""The image fetcher against local https servers: what it refuses, and what it lets through.

Every server here listens on 127.0.0.1 with a certificate from a throw-away CA (trustme). The
fetchers that may reach it say so explicitly: ``address_allowed`` admits 127.0.0.1 only, the CA
is trusted through ``ssl_context``, test host names resolve through ``MapResolver``. Production
defaults (public addresses only, the system's CAs and DNS, port 443) are never loosened by a
setting. No test connects anywhere but 127.0.0.1: the private addresses below are refused
before any connection is attempted.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import Image

from imagine_bot.config import FetchSettings
from imagine_bot.engine.errors import ImageFetchError
from imagine_bot.engine.images.decode import decode_image, store_image_file
from imagine_bot.engine.images.fetch import (
    BlockedAddressError,
    ImageFetcher,
    address_checking_socket_factory,
    check_url,
    is_ip_literal,
    is_public_address,
)
from imagine_bot.engine.images.store import ImageStore
from tests.engine.conftest import FetcherFactory
from tests.support.https_server import LOOPBACK, MapResolver, Server, png, png_header_only

# --- what gets through ---------------------------------------------------------------------


async def test_a_good_image_is_fetched_once_and_stored_by_hash(
    make_fetcher: FetcherFactory, server: Server, store: ImageStore
) -> None:
    fetcher = make_fetcher()
    stored = await fetcher.fetch(server.url("/red.png"))
    assert stored.path.is_file() and stored.path == store.path(stored.sha256)
    image = store.open(stored.sha256)
    assert image.mode == "RGB" and image.size == (64, 48)
    assert image.getpixel((10, 10)) == (200, 30, 30)
    assert server.hits["/red.png"] == 1


async def test_several_urls_are_fetched_once_each(
    make_fetcher: FetcherFactory, server: Server
) -> None:
    url = server.url("/red.png")
    stored = await make_fetcher().fetch_all([url, url, url])
    assert list(stored) == [url]
    assert server.hits["/red.png"] == 1


async def test_large_images_are_scaled_down_to_the_max_side(
    make_fetcher: FetcherFactory, server: Server, store: ImageStore
) -> None:
    stored = await make_fetcher(max_side=256).fetch(server.url("/big.png"))
    assert (stored.width, stored.height) == (256, 154)


async def test_an_animated_gif_gives_its_first_frame_in_rgb(
    make_fetcher: FetcherFactory, server: Server, store: ImageStore
) -> None:
    stored = await make_fetcher().fetch(server.url("/anim.gif"))
    image = store.open(stored.sha256)
    assert image.mode == "RGB" and image.getpixel((5, 5)) == (255, 0, 0)


async def test_transparency_is_laid_over_white(
    make_fetcher: FetcherFactory, server: Server, store: ImageStore
) -> None:
    stored = await make_fetcher().fetch(server.url("/clear.png"))
    assert store.open(stored.sha256).getpixel((3, 3)) == (255, 255, 255)


async def test_redirects_within_the_allowed_hosts_are_followed(
    make_fetcher: FetcherFactory, server: Server
) -> None:
    target = server.url("/red.png", host="other.test")
    stored = await make_fetcher().fetch(server.url(f"/redirect?to={target}"))
    assert stored.width == 64 and server.hits["/red.png"] == 1


# --- addresses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "198.18.0.1",
        "::1",
        "::",
        "fe80::1",
        "fd00::1",
        "fec0::1",
        "ff02::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:10.0.0.1",
        "::127.0.0.1",  # IPv4-compatible
        "2002:7f00:1::",  # 6to4 around 127.0.0.1
        "2002:a00:1::",  # 6to4 around 10.0.0.1
        "64:ff9b::a00:1",  # NAT64 around 10.0.0.1
        "64:ff9b:1::1",  # local-use NAT64
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "2001:db8::1",
        "100::1",
    ],
)
def test_private_and_reserved_addresses_are_not_public(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "162.159.128.233", "2606:4700::6810:84e5", "::ffff:93.184.216.34",
     "2002:5db8:d822::1", "64:ff9b::5db8:d822"],
)  # fmt: skip
def test_public_addresses_are_public(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "fd12::1",
                                     "::ffff:192.168.0.1", "64:ff9b::7f00:1"])  # fmt: skip
async def test_a_host_that_resolves_to_a_private_address_is_refused_before_connecting(
    make_fetcher: FetcherFactory, server: Server, address: str
) -> None:
    fetcher = make_fetcher(trusted=False, answers={"images.test": [address]})
    with pytest.raises(ImageFetchError, match="private or reserved network address"):
        await fetcher.fetch(server.url("/red.png"))
    assert server.hits == {}


async def test_localhost_is_refused_through_the_real_resolver(
    make_fetcher: FetcherFactory, server: Server
) -> None:
    fetcher = make_fetcher(
        trusted=False, allowed_hosts=("localhost",), resolver=aiohttp.ThreadedResolver
    )
    with pytest.raises(ImageFetchError, match="localhost points to a private or reserved"):
        await fetcher.fetch(server.url("/red.png", host="localhost"))
    assert server.hits == {}


async def test_every_connection_resolves_and_checks_again_so_rebinding_fails(
    make_fetcher: FetcherFactory, server: Server
) -> None:
    """The first lookup answers an admitted address, the next (after a redirect to the same
    host) a refused one: what was checked is what is connected to, every time."""
    resolver = MapResolver({"images.test": ["127.0.0.1", "127.0.0.2"]})
    fetcher = make_fetcher(resolver=lambda: resolver)
    with pytest.raises(ImageFetchError, match="private or reserved network address"):
        await fetcher.fetch(server.url("/redirect?to=/red.png"))
    assert resolver.lookups == ["images.test", "images.test"]
    assert "/red.png" not in server.hits


async def test_the_socket_factory_refuses_a_blocked_peer_at_connect_time(server: Server) -> None:
    """aiohttp skips the resolver for IP literals; the socket factory still sees the peer."""
    connector = aiohttp.TCPConnector(
        socket_factory=address_checking_socket_factory(is_public_address), ssl=False
    )
    async with aiohttp.ClientSession(connector=connector) as session:
        with pytest.raises(aiohttp.ClientConnectorError) as caught:
            await session.get(f"https://127.0.0.1:{server.port}/red.png")
    assert isinstance(caught.value.os_error, BlockedAddressError)
    assert server.hits == {}


def test_the_socket_factory_makes_sockets_for_public_peers() -> None:
    factory = address_checking_socket_factory(is_public_address)
    with factory((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443))) as sock:
        assert sock.family == socket.AF_INET
    with pytest.raises(BlockedAddressError):
        factory((socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("fe80::1%1", 443, 0, 1)))


# --- URLs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://images.test/a.png", "not https://"),
        ("ftp://images.test/a.png", "not https://"),
        ("https://user:pass@images.test/a.png", "user name or password"),
        ("https://images.test@evil.test/a.png", "user name or password"),
        ("https://127.0.0.1/a.png", "IP address"),
        ("https://[::1]/a.png", "IP address"),
        ("https://[::ffff:127.0.0.1]/a.png", "IP address"),
        ("https://2130706433/a.png", "IP address"),  # 127.0.0.1 as one number
        ("https://0x7f.1/a.png", "IP address"),
        ("https://127.1/a.png", "IP address"),
        ("https://evil.test/a.png", "evil.test is not one of them"),
        ("https://images.test.evil.test/a.png", "is not one of them"),
        ("https://images.test:8443/a.png", "port 8443"),
        ("https:///a.png", "no host"),
        ("https://images.test/" + "a" * 3000, "too long"),
    ],
)
def test_bad_links_are_refused_with_a_reason(url: str, message: str) -> None:
    allowed = ("images.test", "127.0.0.1", "2130706433", "127.1", "0x7f.1")
    with pytest.raises(ImageFetchError, match=message):
        check_url(url, allowed)


def test_wildcard_hosts_allow_subdomains_only() -> None:
    allowed = ("*.discordapp.net",)
    assert check_url("https://media.discordapp.net/a.png", allowed).host == "media.discordapp.net"
    for url in ("https://discordapp.net/a.png", "https://evildiscordapp.net/a.png"):
        with pytest.raises(ImageFetchError):
            check_url(url, allowed)


def test_ip_literals_include_legacy_spellings() -> None:
    assert all(map(is_ip_literal, ["10.0.0.1", "[fe80::1]", "0177.0.0.1", "2130706433"]))
    assert not any(map(is_ip_literal, ["cdn.discordapp.com", "1.example", "localhost"]))


def test_the_production_defaults_are_discord_only_on_port_443() -> None:
    fetcher = ImageFetcher(FetchSettings(), ImageStore(Path("unused")))
    assert fetcher.settings.allowed_hosts == ("cdn.discordapp.com", "media.discordapp.net")
    assert fetcher.address_allowed is is_public_address and fetcher.ports == {443}
    assert fetcher.check("https://cdn.discordapp.com/attachments/1/2/a.png").port == 443
    with pytest.raises(ImageFetchError, match="port 80"):
        fetcher.check("https://cdn.discordapp.com:80/a.png")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("https://evil.test/a.png", "redirects elsewhere: .*evil.test is not one of them"),
        ("http://images.test/red.png", "redirects elsewhere: .*not https"),
        ("https://127.0.0.1/red.png", "redirects elsewhere: .*IP address"),
        ("https://user@images.test/red.png", "redirects elsewhere: .*user name"),
    ],
)
async def test_redirects_leaving_the_allowed_hosts_are_refused(
    make_fetcher: FetcherFactory, server: Server, target: str, message: str
) -> None:
    with pytest.raises(ImageFetchError, match=message):
        await make_fetcher().fetch(server.url(f"/redirect?to={target}"))
    assert "/red.png" not in server.hits


async def test_redirect_chains_are_bounded(make_fetcher: FetcherFactory, server: Server) -> None:
    with pytest.raises(ImageFetchError, match="redirects more than 2 times"):
        await make_fetcher(max_redirects=2).fetch(server.url("/loop"))


async def test_a_certificate_from_an_unknown_ca_is_refused(
    server: Server, store: ImageStore
) -> None:
    fetcher = ImageFetcher(
        FetchSettings(allowed_hosts=("images.test",)),
        store,
        address_allowed=lambda address: address == LOOPBACK,
        resolver=lambda: MapResolver({"images.test": ["127.0.0.1"]}),
        ports={server.port},
    )  # the system's CAs, which never signed the test server's certificate
    with pytest.raises(ImageFetchError, match="no valid certificate"):
        await fetcher.fetch(server.url("/red.png"))


# --- bodies ----------------------------------------------------------------------------------


async def test_an_oversized_body_is_refused_from_its_content_length(
    make_fetcher: FetcherFactory, server: Server
) -> None:
    with pytest.raises(ImageFetchError, match="larger than 1 MB"):
        await make_fetcher(max_bytes=1024 * 1024).fetch(server.url("/large"))


async def test_an_oversized_body_without_content_length_is_cut_off_while_streaming(
    make_fetcher: FetcherFactory, server: Server
) -> None:
    with pytest.raises(ImageFetchError, match="larger than 1 MB"):
        await make_fetcher(max_bytes=1024 * 1024).fetch(server.url("/chunked"))


async def test_a_slow_body_times_out(make_fetcher: FetcherFactory, server: Server) -> None:
    with pytest.raises(ImageFetchError, match="took too long"):
        await make_fetcher(read_timeout=0.3).fetch(server.url("/slow"))


async def test_the_total_time_is_bounded(make_fetcher: FetcherFactory, server: Server) -> None:
    with pytest.raises(ImageFetchError, match="took too long"):
        await make_fetcher(read_timeout=3.0, total_timeout=0.4).fetch(server.url("/slow"))


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/page.html", "is not a PNG, JPEG, WebP or GIF image"),
        ("/image.bmp", "is not a PNG, JPEG, WebP or GIF image"),  # Pillow reads BMP; we don't
        ("/bomb.png", "too many pixels .*; the limit is 40 megapixels"),
        ("/nowhere.png", "the server answered 404"),
    ],
)
async def test_what_is_not_a_usable_image_is_refused(
    make_fetcher: FetcherFactory, server: Server, path: str, message: str
) -> None:
    with pytest.raises(ImageFetchError, match=message):
        await make_fetcher().fetch(server.url(path))


async def test_the_pixel_cap_is_a_setting(make_fetcher: FetcherFactory, server: Server) -> None:
    with pytest.raises(ImageFetchError, match="1500x900 pixels; the limit is 1 megapixels"):
        await make_fetcher(max_pixels=1_000_000).fetch(server.url("/big.png"))


async def test_too_many_images_in_one_prompt_are_refused(
    make_fetcher: FetcherFactory, server: Server
) -> None:
    urls = [server.url(f"/red.png?n={n}") for n in range(3)]
    with pytest.raises(ImageFetchError, match="gives 3 images; the limit is 2"):
        await make_fetcher(max_images=2).fetch_all(urls)
    assert server.hits == {}


@pytest.fixture
def raw_server(server_ssl: ssl.SSLContext) -> Iterator[Callable[[bytes], Any]]:
    """An https server that answers every request with the given raw bytes: for headers
    that lie, which aiohttp's own server will not send."""
    servers: list[asyncio.Server] = []

    async def start(answer: bytes) -> int:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(answer)
                await writer.drain()
            except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
                pass
            finally:
                writer.close()

        running = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_ssl)
        servers.append(running)
        port: int = running.sockets[0].getsockname()[1]
        return port

    yield start
    for running in servers:
        running.close()


@pytest.mark.parametrize(
    ("head", "extra", "message"),
    [
        # Content-Length claims less than is sent: the rest is no valid HTTP
        (b"Content-Length: 200\r\n", 2 * 1024 * 1024, "answer was malformed"),
        # ... or more than is sent before the connection closes: a cut-off body
        (b"Content-Length: 1000000\r\nConnection: close\r\n", 0, "answer was malformed"),
        # no Content-Length at all, the body runs until the connection closes
        (b"Connection: close\r\n", 2 * 1024 * 1024, "larger than 1 MB"),
    ],
)
async def test_lying_or_missing_content_lengths_change_nothing(
    raw_server: Callable[[bytes], Any],
    client_ssl: ssl.SSLContext,
    store: ImageStore,
    head: bytes,
    extra: int,
    message: str,
) -> None:
    body = png((1200, 1200), (1, 2, 3)) + b"\x00" * extra
    port = await raw_server(
        b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n" + head + b"\r\n" + body
    )
    fetcher = ImageFetcher(
        FetchSettings(allowed_hosts=("images.test",), max_bytes=1024 * 1024),
        store,
        address_allowed=lambda address: address == LOOPBACK,
        ssl_context=client_ssl,
        resolver=lambda: MapResolver({"images.test": ["127.0.0.1"]}),
        ports={port},
    )
    with pytest.raises(ImageFetchError, match=message):
        await fetcher.fetch(f"https://images.test:{port}/a.png")


# --- decoding and local files ----------------------------------------------------------------


def test_the_pixel_cap_is_checked_before_decoding() -> None:
    # 8000 x 8000 is below Pillow's own bomb guard: the cap is what stops it
    with pytest.raises(ImageFetchError, match="8000x8000 pixels; the limit is 40 megapixels"):
        decode_image(png_header_only(8000, 8000), max_pixels=40_000_000, max_side=64, name="x")
    # far past Pillow's guard too: still an error, never only a warning
    with pytest.raises(ImageFetchError, match="too many pixels"):
        decode_image(png_header_only(60_000, 60_000), max_pixels=10**10, max_side=64, name="x")


def test_a_truncated_image_is_refused() -> None:
    data = png((300, 300), (9, 9, 9))
    with pytest.raises(ImageFetchError, match=r"x\.png is a damaged or truncated image"):
        decode_image(data[: len(data) // 2], max_pixels=10**6, max_side=64, name="x.png")


def test_local_files_go_through_the_same_checks(tmp_path: Path, store: ImageStore) -> None:
    good = tmp_path / "good.webp"
    Image.new("RGB", (40, 30), (0, 90, 0)).save(good, "WEBP", lossless=True)
    stored = store_image_file(good, FetchSettings(), store)
    assert store.open(stored.sha256).getpixel((1, 1)) == (0, 90, 0)
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    with pytest.raises(ImageFetchError, match=r"notes\.txt is not a PNG"):
        store_image_file(bad, FetchSettings(), store)
    with pytest.raises(ImageFetchError, match="no such file"):
        store_image_file(tmp_path / "missing.png", FetchSettings(), store)
