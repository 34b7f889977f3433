"""Fixtures for the engine tests: a local https server to fetch images from, and a spy on
what the generate stage hands the tiny model."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch
import trustme
from aiohttp import web
from aiohttp.abc import AbstractResolver

from imagine_bot.config import FetchSettings
from imagine_bot.engine.images.fetch import ImageFetcher, is_public_address
from imagine_bot.engine.images.store import ImageStore
from imagine_bot.plugins.runner import JobRunner
from tests.support.https_server import HOSTS, LOOPBACK, MapResolver, Server, build_app


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def server_ssl(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*HOSTS).configure_cert(context)
    return context


@pytest.fixture
def client_ssl(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture
async def server(server_ssl: ssl.SSLContext) -> AsyncIterator[Server]:
    result = Server(port=0)
    runner = web.AppRunner(build_app(result), handler_cancellation=True, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ssl)
    await site.start()
    result.port = runner.addresses[0][1]
    yield result
    await runner.cleanup()


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "store")


FetcherFactory = Callable[..., ImageFetcher]


@pytest.fixture
def make_fetcher(server: Server, client_ssl: ssl.SSLContext, store: ImageStore) -> FetcherFactory:
    """A fetcher for the local server, storing into ``into`` (default: a fresh store).
    ``trusted`` admits 127.0.0.1, and only it; otherwise the production address policy applies.
    The keyword arguments left over are ``FetchSettings``."""

    def make(
        *,
        trusted: bool = True,
        answers: dict[str, list[str]] | None = None,
        resolver: Callable[[], AbstractResolver] | None = None,
        into: ImageStore | None = None,
        **limits: Any,
    ) -> ImageFetcher:
        settings = FetchSettings(
            allowed_hosts=limits.pop("allowed_hosts", ("images.test", "other.test")),
            **{"read_timeout": 2.0, "total_timeout": 5.0, **limits},
        )
        mapping = answers or {"images.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]}
        return ImageFetcher(
            settings,
            into or store,
            address_allowed=(lambda address: address == LOOPBACK) if trusted else is_public_address,
            ssl_context=client_ssl,
            resolver=resolver or (lambda: MapResolver({k: list(v) for k, v in mapping.items()})),
            ports={server.port},
        )

    return make


@dataclass
class UNetCall:
    latents: torch.Tensor
    encoder_hidden_states: torch.Tensor
    circular: bool
    """Whether the UNet's first convolution padded circularly during this call."""


@dataclass
class UNetSpy:
    calls: list[UNetCall] = field(default_factory=list)

    def conditional(self, step: int, images: int = 4) -> torch.Tensor:
        """The prompt embeddings of the conditional half of classifier-free guidance."""
        return self.calls[step].encoder_hidden_states[-images:]


@pytest.fixture
def unet_spy(runner: JobRunner) -> Iterator[UNetSpy]:
    """Every UNet call of the jobs run while the test runs, on the shared tiny pipeline."""
    spy = UNetSpy()
    unet = runner._worker.submit(lambda: runner.models.pipeline("tiny").unet).result()

    def record(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        spy.calls.append(
            UNetCall(
                latents=args[0].detach().clone(),
                encoder_hidden_states=kwargs["encoder_hidden_states"].detach().clone(),
                circular=module.conv_in.padding_mode == "circular",
            )
        )

    handle = unet.register_forward_pre_hook(record, with_kwargs=True)
    try:
        yield spy
    finally:
        handle.remove()
