"""Tiled inference: any image size in bounded memory, with the same result as one pass.

The image is cut into a grid of near-equal tiles. Each tile is run with ``overlap`` extra input
pixels of real context on every side (fewer at the image border, where the network would see
its own zero padding in a single pass too), and only the tile's own part of the output is kept.
When ``overlap`` covers the network's receptive field the result is the untiled one exactly;
the trained Real-ESRGAN networks draw almost all of each output pixel from a few pixels around
it, so a few dozen pixels of overlap leave no visible seam.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

Forward = Callable[[torch.Tensor], torch.Tensor]


def tiled_forward(
    forward: Forward,
    image: torch.Tensor,
    scale: int,
    tile: int,
    overlap: int,
    multiple: int = 1,
) -> torch.Tensor:
    """``forward`` over ``image`` (1, C, H, W) in tiles; returns (1, C', H*scale, W*scale).

    ``forward`` maps an input tile to its output (``scale`` times larger), which may come back
    on another device or in another dtype than the input: the result takes the first tile's.
    ``tile`` is the tile side in input pixels (0: one pass over the whole image).
    ``multiple``: the network needs input sides that are multiples of this; the image is
    padded by edge replication to fit and the padding cropped from the result.
    """
    height, width = image.shape[-2:]
    pad_h, pad_w = -height % multiple, -width % multiple
    if pad_h or pad_w:
        image = F.pad(image, (0, pad_w, 0, pad_h), mode="replicate")
    padded_h, padded_w = image.shape[-2:]
    if tile <= 0 or (padded_h <= tile and padded_w <= tile):
        return forward(image)[..., : height * scale, : width * scale]

    overlap = _round_up(overlap, multiple)
    out: torch.Tensor | None = None
    for top, bottom in _spans(padded_h, tile, multiple):
        for left, right in _spans(padded_w, tile, multiple):
            in_top, in_left = max(top - overlap, 0), max(left - overlap, 0)
            in_bottom, in_right = min(bottom + overlap, padded_h), min(right + overlap, padded_w)
            result = forward(image[..., in_top:in_bottom, in_left:in_right])
            if out is None:
                out = result.new_empty((*result.shape[:2], padded_h * scale, padded_w * scale))
            keep_top, keep_left = (top - in_top) * scale, (left - in_left) * scale
            out[..., top * scale : bottom * scale, left * scale : right * scale] = result[
                ...,
                keep_top : keep_top + (bottom - top) * scale,
                keep_left : keep_left + (right - left) * scale,
            ]
    assert out is not None
    return out[..., : height * scale, : width * scale]


def _spans(length: int, tile: int, multiple: int) -> list[tuple[int, int]]:
    """Cut ``length`` into the fewest near-equal spans of about ``tile``, each starting at a
    multiple of ``multiple`` (so a span may exceed ``tile`` by less than ``multiple``)."""
    count = -(-length // tile)
    step = _round_up(-(-length // count), multiple)
    return [(start, min(start + step, length)) for start in range(0, length, step)]


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple
