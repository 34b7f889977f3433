"""The one way a user's image gets in: every URL or attachment is hostile until proven otherwise.

A URL is refused unless it is ``https``, names an allowed host (no IP literal, no
``user:pass@``) and stays on allowed hosts through every redirect. The addresses a host resolves
to are checked twice against private, loopback, link-local, multicast and reserved ranges
(IPv4 and IPv6, IPv4 embedded in IPv6 included): by the resolver the connector uses, and again
by the socket factory right before ``connect``, so neither DNS rebinding nor a path that skips
the resolver reaches an internal address. The body is streamed under a byte cap with connect,
read and total timeouts, decoded under the rules of ``decode.py`` and stored by sha256, so a
job never fetches the same (expiring) URL again.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Callable, Collection, Sequence

import aiohttp
from aiohappyeyeballs import AddrInfoType, SocketFactoryType
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from imagine_bot.config import FetchSettings
from imagine_bot.config.quoting import short
from imagine_bot.engine.images.decode import ImageFetchError, decode_image
from imagine_bot.engine.images.store import ImageStore, StoredImage

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressCheck = Callable[[IPAddress], bool]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_URL_LENGTH = 2048
_CHUNK = 64 * 1024

# Not reachable as public unicast, whatever Python's ipaddress flags say in this version.
_BLOCKED_V4 = tuple(
    ipaddress.IPv4Network(net)
    for net in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata services
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, broadcast
    )
)
_BLOCKED_V6 = tuple(
    ipaddress.IPv6Network(net)
    for net in (
        "64:ff9b:1::/48",  # local-use NAT64: maps onto private networks
        "100::/64",  # discard
        "2001::/23",  # IETF protocol assignments, Teredo included
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
        "5f00::/16",  # SRv6 SIDs
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)
_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


class BlockedAddressError(OSError):
    """Raised by the socket factory: the connector was about to connect to a blocked address."""


def is_public_address(address: IPAddress) -> bool:
    """Whether ``address`` is public unicast, looking through IPv4-in-IPv6 forms."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public_address(embedded)
        if address not in _GLOBAL_UNICAST_V6 or any(address in net for net in _BLOCKED_V6):
            return False
    elif any(address in net for net in _BLOCKED_V4):
        return False
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
    )


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a mapped, compatible, 6to4 or NAT64 IPv6 address leads to."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or address in _IPV4_COMPATIBLE:
        # ::/96 also holds :: and ::1, which map to 0.0.0.0/8 and so are refused too.
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _SIX_TO_FOUR:  # pragma: no cover - ``sixtofour`` covers it
        return ipaddress.IPv4Address((int(address) >> 80) & 0xFFFFFFFF)
    return None


def parse_address(text: str) -> IPAddress:
    """An address as resolvers and sockets write it (``fe80::1%eth0`` included)."""
    return ipaddress.ip_address(text.split("%", 1)[0])


def is_ip_literal(host: str) -> bool:
    """Whether ``host`` is an address rather than a name, legacy IPv4 spellings included
    (``2130706433``, ``0x7f.1``, ``127.1``), which the system resolver would accept."""
    bare = host.strip("[]")
    try:
        ipaddress.ip_address(bare.split("%", 1)[0])
        return True
    except ValueError:
        pass
    try:
        socket.inet_aton(bare)
        return True
    except (OSError, ValueError):
        return False


def host_allowed(host: str, allowed_hosts: Collection[str]) -> bool:
    host = host.lower().rstrip(".")
    for allowed in allowed_hosts:
        if allowed.startswith("*."):
            if host.endswith(allowed[1:]) and len(host) > len(allowed) - 1:
                return True
        elif host == allowed:
            return True
    return False


def check_url(
    url: str | URL, allowed_hosts: Collection[str], ports: Collection[int] = (443,)
) -> URL:
    """The parsed URL when it may be fetched; otherwise an ``ImageFetchError`` saying why."""
    text = str(url)
    if len(text) > _MAX_URL_LENGTH:
        raise ImageFetchError(f"The image link {short(text)} is too long.")
    try:
        parsed = url if isinstance(url, URL) else URL(text)
    except (ValueError, TypeError):
        raise ImageFetchError(f"{short(text)} is not a valid link.") from None
    if parsed.scheme != "https":
        raise ImageFetchError(
            f"The image link {short(text)} is not https://; only https links are fetched."
        )
    if parsed.user is not None or parsed.password is not None or "@" in (parsed.authority or ""):
        raise ImageFetchError(
            f"The image link {short(text)} carries a user name or password (user@host); "
            "such links are refused."
        )
    host = parsed.raw_host
    if not host:
        raise ImageFetchError(f"The image link {short(text)} has no host.")
    if is_ip_literal(host):
        raise ImageFetchError(
            f"The image link {short(text)} names an IP address instead of a host; "
            "links must name an allowed host."
        )
    if not host_allowed(host, allowed_hosts):
        raise ImageFetchError(
            f"Images can only be fetched from {', '.join(allowed_hosts) or 'no host'}; "
            f"{host} is not one of them. Upload the image to Discord and use its link."
        )
    if parsed.port not in ports:
        raise ImageFetchError(f"The image link {short(text)} uses port {parsed.port}; refused.")
    return parsed


class AddressCheckingResolver(AbstractResolver):
    """Resolves through ``inner``, then refuses the host if any address is not allowed."""

    def __init__(self, inner: AbstractResolver, allowed: AddressCheck) -> None:
        self.inner = inner
        self.allowed = allowed

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        for result in results:
            if not self.allowed(parse_address(result["host"])):
                raise ImageFetchError(
                    f"{host} points to a private or reserved network address "
                    f"({result['host']}); images are only fetched from public servers."
                )
        return results

    async def close(self) -> None:
        await self.inner.close()


def address_checking_socket_factory(allowed: AddressCheck) -> SocketFactoryType:
    """A socket factory for aiohttp's connector that refuses blocked peers before connecting."""

    def factory(addr_info: AddrInfoType) -> socket.socket:
        family, kind, proto, _, address = addr_info
        peer = parse_address(str(address[0]))
        if not allowed(peer):
            raise BlockedAddressError(f"connection to {peer} refused: not a public address")
        return socket.socket(family=family, type=kind, proto=proto)

    return factory


class ImageFetcher:
    """Fetches images users give by URL into the image store, under ``settings``' limits.

    The keyword arguments exist for tests only and loosen nothing by default: ``address_allowed``
    decides which resolved addresses may be connected to, ``ssl_context`` which certificates are
    trusted, ``resolver`` how names are looked up (before the address check), ``ports`` which
    ports an https URL may name.
    """

    def __init__(
        self,
        settings: FetchSettings,
        store: ImageStore,
        *,
        address_allowed: AddressCheck = is_public_address,
        ssl_context: ssl.SSLContext | None = None,
        resolver: Callable[[], AbstractResolver] | None = None,
        ports: Collection[int] = (443,),
    ) -> None:
        self.settings = settings
        self.store = store
        self.address_allowed = address_allowed
        self.ssl_context = ssl_context
        self.resolver = resolver or aiohttp.ThreadedResolver
        self.ports = frozenset(ports)

    def check(self, url: str) -> URL:
        """Refuse a URL that may not be fetched, without fetching anything."""
        return check_url(url, self.settings.allowed_hosts, self.ports)

    async def fetch(self, url: str) -> StoredImage:
        """Download, decode and store the image at ``url``; every refusal is an
        ``ImageFetchError`` naming the URL."""
        target = self.check(url)
        try:
            async with asyncio.timeout(self.settings.total_timeout):
                data = await self._download(target)
        except TimeoutError:
            raise ImageFetchError(
                f"The image {short(url)} took too long to download (limits: "
                f"{self.settings.connect_timeout:g} s to connect, {self.settings.read_timeout:g} s "
                f"between reads, {self.settings.total_timeout:g} s in all)."
            ) from None
        return await asyncio.to_thread(self._store, data, url)

    async def fetch_all(self, urls: Sequence[str]) -> dict[str, StoredImage]:
        """Each distinct URL fetched once, concurrently; the first refusal fails them all."""
        distinct = list(dict.fromkeys(urls))
        if len(distinct) > self.settings.max_images:
            raise ImageFetchError(
                f"This prompt gives {len(distinct)} images; the limit is "
                f"{self.settings.max_images}."
            )
        for url in distinct:  # refuse bad links before downloading any of the others
            self.check(url)
        stored = await asyncio.gather(*(self.fetch(url) for url in distinct))
        return dict(zip(distinct, stored, strict=True))

    async def _download(self, url: URL) -> bytes:
        settings = self.settings
        connector = aiohttp.TCPConnector(
            ssl=self.ssl_context if self.ssl_context is not None else True,
            resolver=AddressCheckingResolver(self.resolver(), self.address_allowed),
            socket_factory=address_checking_socket_factory(self.address_allowed),
            use_dns_cache=False,
            force_close=True,
        )
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=settings.connect_timeout,
            sock_connect=settings.connect_timeout,
            sock_read=settings.read_timeout,
        )
        async with aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            # No proxies from the environment (a proxy would resolve the name for us), no
            # cookies, and no transparent gzip: a compressed body could inflate past the cap.
            trust_env=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            headers={"Accept": "image/*", "Accept-Encoding": "identity"},
        ) as session:
            current = url
            for _ in range(settings.max_redirects + 1):
                try:
                    async with session.get(current, allow_redirects=False) as response:
                        if response.status in _REDIRECTS:
                            current = self._redirect_target(current, response)
                            continue
                        if response.status != 200:
                            raise ImageFetchError(
                                f"The image {short(url)} could not be downloaded: the server "
                                f"answered {response.status} {response.reason or ''}".rstrip()
                                + "."
                            )
                        return await self._read_capped(response, url)
                except aiohttp.ClientConnectorError as exc:
                    raise self._connect_error(url, exc) from None
                except TimeoutError:
                    raise  # reported with the limits by fetch()
                except (aiohttp.ClientResponseError, aiohttp.ClientPayloadError):
                    raise ImageFetchError(
                        f"The image {short(url)} could not be downloaded: the server's answer "
                        "was malformed."
                    ) from None
                except aiohttp.ClientError as exc:
                    raise ImageFetchError(
                        f"The image {short(url)} could not be downloaded ({type(exc).__name__})."
                    ) from None
            raise ImageFetchError(
                f"The image {short(url)} redirects more than {settings.max_redirects} times."
            )

    def _redirect_target(self, current: URL, response: aiohttp.ClientResponse) -> URL:
        location = response.headers.get("Location")
        if not location:
            raise ImageFetchError(f"The image {short(current)} redirects nowhere.")
        try:
            target = current.join(URL(location))
        except (ValueError, TypeError):
            raise ImageFetchError(f"The image {short(current)} redirects to a bad link.") from None
        try:
            return self.check(str(target))
        except ImageFetchError as exc:
            raise ImageFetchError(
                f"The image {short(current)} redirects elsewhere: {exc}"
            ) from None

    async def _read_capped(self, response: aiohttp.ClientResponse, url: URL) -> bytes:
        limit = self.settings.max_bytes
        if response.content_length is not None and response.content_length > limit:
            raise self._too_big(url)
        chunks = bytearray()
        async for chunk in response.content.iter_chunked(_CHUNK):
            chunks += chunk
            if len(chunks) > limit:  # whatever Content-Length said, or if it said nothing
                raise self._too_big(url)
        return bytes(chunks)

    def _too_big(self, url: URL) -> ImageFetchError:
        return ImageFetchError(
            f"The image {short(url)} is larger than {self.settings.max_bytes // 1024 // 1024} MB; "
            "refused."
        )

    def _connect_error(self, url: URL, exc: aiohttp.ClientConnectorError) -> ImageFetchError:
        if isinstance(exc, aiohttp.ClientConnectorCertificateError):
            return ImageFetchError(f"The server of {short(url)} has no valid certificate.")
        if isinstance(exc.os_error, BlockedAddressError) or isinstance(
            exc.__cause__, BlockedAddressError
        ):
            return ImageFetchError(
                f"{url.host} points to a private or reserved network address; images are only "
                "fetched from public servers."
            )
        return ImageFetchError(f"Could not connect to {url.host} to fetch {short(url)}.")

    def _store(self, data: bytes, url: str) -> StoredImage:
        image = decode_image(
            data, max_pixels=self.settings.max_pixels, max_side=self.settings.max_side, name=url
        )
        return self.store.put(image)
