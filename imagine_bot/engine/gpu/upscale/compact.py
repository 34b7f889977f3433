"""SRVGGNetCompact, the small network behind Real-ESRGAN's realesr-general-x4v3 weights.

Written for this project from the published architecture. A plain stack of 3x3 convolutions with
one PReLU after each, all at the input resolution; the last convolution emits ``upscale**2``
sub-pixels per output channel, which a pixel-shuffle lays out at the full size. The network
learns only the residual over a nearest-neighbour enlargement of the input.

The state-dict layout matches the official checkpoints: ``body.0`` is the first convolution,
odd ``body`` entries are the PReLUs, and the last ``body`` entry is the sub-pixel convolution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SRVGGNetCompact(nn.Module):  # type: ignore[misc]
    """``num_conv`` hidden convolutions of ``num_feat`` channels; upsamples by ``upscale``."""

    input_multiple = 1

    def __init__(
        self,
        num_feat: int = 64,
        num_conv: int = 32,
        upscale: int = 4,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
    ) -> None:
        super().__init__()
        self.scale = upscale
        layers: list[nn.Module] = [nn.Conv2d(num_in_ch, num_feat, 3, padding=1)]
        layers.append(nn.PReLU(num_feat))
        for _ in range(num_conv):
            layers += [nn.Conv2d(num_feat, num_feat, 3, padding=1), nn.PReLU(num_feat)]
        layers.append(nn.Conv2d(num_feat, num_out_ch * upscale * upscale, 3, padding=1))
        self.body = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        for layer in self.body:
            out = layer(out)
        residual = F.pixel_shuffle(out, self.scale)
        return residual + F.interpolate(x, scale_factor=float(self.scale), mode="nearest")
