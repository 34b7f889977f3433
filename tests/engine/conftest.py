"""Fixtures for watching what the generate stage hands the tiny model."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import torch

from imagine_bot.plugins.runner import JobRunner


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
