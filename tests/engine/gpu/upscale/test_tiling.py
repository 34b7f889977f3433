"""Tiled inference gives the untiled result, at exactly scale x the size, in bounded tiles."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from imagine_bot.engine.gpu.upscale.tiling import tiled_forward
from tests.engine.gpu.upscale.conftest import small_compact, small_rrdbnet


def image(height: int, width: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(seed))


NETS: dict[str, tuple[Callable[[], nn.Module], int]] = {
    "rrdbnet-x2": (lambda: small_rrdbnet(2), 2),
    "rrdbnet-x4": (lambda: small_rrdbnet(4), 1),
    "compact-x4": (small_compact, 1),
}


@pytest.mark.parametrize("name", NETS)
def test_tiled_equals_untiled_on_an_image_larger_than_the_tile(name: str) -> None:
    build, multiple = NETS[name]
    net = build()
    x = image(37, 45)  # odd sides, 3 x 3 tiles of at most 16 pixels
    with torch.inference_mode():
        whole = tiled_forward(net, x, net.scale, 0, 0, multiple)
        tiled = tiled_forward(net, x, net.scale, 16, 24, multiple)
        seams = tiled_forward(net, x, net.scale, 16, 2, multiple)
    assert whole.shape == tiled.shape == (1, 3, 37 * net.scale, 45 * net.scale)
    assert (tiled - whole).abs().max() < 1e-5
    # The comparison can fail: with too little context the tile seams show.
    assert (seams - whole).abs().max() > 1e-3


class LocalNet(nn.Module):  # type: ignore[misc]
    """A 2x upscaler that reads each 2x2 block and its neighbours (input sides must be even)."""

    scale = 2

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(7)
        self.conv = nn.Conv2d(12, 48, 3, padding=1)
        self.calls: list[tuple[int, int]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append((x.shape[-2], x.shape[-1]))
        out = self.conv(nn.functional.pixel_unshuffle(x, 2))
        return nn.functional.pixel_shuffle(out, 4)


@settings(max_examples=60, deadline=None)
@given(
    height=st.integers(1, 40),
    width=st.integers(1, 40),
    tile=st.integers(2, 24),
    overlap=st.integers(2, 8),
)
def test_tiles_cover_any_size_exactly_once(
    height: int, width: int, tile: int, overlap: int
) -> None:
    net = LocalNet()
    x = image(height, width, seed=height * 41 + width)
    with torch.inference_mode():
        whole = tiled_forward(net, x, 2, 0, 0, multiple=2)
        net.calls.clear()
        tiled = tiled_forward(net, x, 2, tile, overlap, multiple=2)
    assert tiled.shape == (1, 3, 2 * height, 2 * width)
    assert torch.allclose(tiled, whole, atol=1e-6)
    # Each tile is the tile plus its context, rounded up to the network's multiple of 2.
    limit = tile + 1 + 2 * (overlap + 1)
    assert all(h % 2 == 0 and w % 2 == 0 and h <= limit and w <= limit for h, w in net.calls)


def test_tiles_are_near_equal_rather_than_a_sliver_at_the_end() -> None:
    net = LocalNet()
    with torch.inference_mode():
        tiled_forward(net, image(20, 66), 2, 32, 0, multiple=2)
    assert net.calls == [(20, 22)] * 3


def test_the_result_stays_on_the_device_and_dtype_forward_returns() -> None:
    def forward(tile: torch.Tensor) -> torch.Tensor:
        return (tile.repeat_interleave(2, 2).repeat_interleave(2, 3) * 255).to(torch.uint8)

    out = tiled_forward(forward, image(9, 11), 2, 4, 2)
    assert out.dtype == torch.uint8 and out.shape == (1, 3, 18, 22)
