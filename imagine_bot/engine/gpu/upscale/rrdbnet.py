"""RRDBNet, the ESRGAN generator behind Real-ESRGAN's x4plus and x2plus weights.

Written for this project from the published architecture (ESRGAN, Wang et al. 2018; Real-ESRGAN,
Wang et al. 2021). Module names follow the official checkpoints exactly (``conv_first``,
``body.N.rdbK.convJ``, ``conv_body``, ``conv_up1``, ``conv_up2``, ``conv_hr``, ``conv_last``),
so their state dicts load unchanged.

The trunk always upsamples 4x (two nearest-neighbour 2x steps). The x2 variant first folds each
2x2 block of pixels into channels (pixel-unshuffle), so it works at half resolution and ends 2x.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Both residual branches are scaled down before they are added: ESRGAN's "residual scaling",
# which the trained weights expect.
RESIDUAL_SCALE = 0.2
_SLOPE = 0.2


class ResidualDenseBlock(nn.Module):  # type: ignore[misc]
    """Five 3x3 convolutions, each fed the block input and every earlier output."""

    def __init__(self, num_feat: int, num_grow_ch: int) -> None:
        super().__init__()
        for index in range(5):
            out_channels = num_feat if index == 4 else num_grow_ch
            conv = nn.Conv2d(num_feat + index * num_grow_ch, out_channels, 3, padding=1)
            self.add_module(f"conv{index + 1}", conv)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        *growth, last = self.children()
        for conv in growth:
            features.append(F.leaky_relu(conv(torch.cat(features, 1)), _SLOPE))
        return last(torch.cat(features, 1)) * RESIDUAL_SCALE + x


class RRDB(nn.Module):  # type: ignore[misc]
    """Residual in residual: three dense blocks in a row around one more skip connection."""

    def __init__(self, num_feat: int, num_grow_ch: int) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * RESIDUAL_SCALE + x


class RRDBNet(nn.Module):  # type: ignore[misc]
    """The generator. ``scale`` is 4 (x4plus) or 2 (x2plus); both upsample RGB images."""

    def __init__(
        self,
        scale: int = 4,
        num_feat: int = 64,
        num_block: int = 23,
        num_grow_ch: int = 32,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
    ) -> None:
        super().__init__()
        if scale not in (2, 4):
            raise ValueError(f"RRDBNet scale must be 2 or 4, not {scale}")
        self.scale = scale
        # x2 folds 2x2 pixels into channels first, so its input sides must be even.
        self.unshuffle = 4 // scale
        self.input_multiple = self.unshuffle
        first_in = num_in_ch * self.unshuffle**2
        self.conv_first = nn.Conv2d(first_in, num_feat, 3, padding=1)
        self.body = nn.Sequential(*(RRDB(num_feat, num_grow_ch) for _ in range(num_block)))
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, padding=1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, padding=1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, padding=1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, padding=1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.unshuffle > 1:
            x = F.pixel_unshuffle(x, self.unshuffle)
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        for conv in (self.conv_up1, self.conv_up2):
            feat = F.interpolate(feat, scale_factor=2.0, mode="nearest")
            feat = F.leaky_relu(conv(feat), _SLOPE)
        return self.conv_last(F.leaky_relu(self.conv_hr(feat), _SLOPE))
