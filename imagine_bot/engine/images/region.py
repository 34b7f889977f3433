"""Vary (Region) geometry: what the inpainting pipeline repaints, and how much of it is kept.

The pipeline repaints the whole marked region; afterwards the source is pasted back through
``outpaint.composite`` with a keep-alpha that is exactly 1 outside the region (those pixels
are the source's, unchanged) and falls to 0 across a feathered band just inside its edge, so
the repainted part blends into what is kept.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from imagine_bot.engine.images.masks import REGION


def prepare_region(
    mask: Image.Image, width: int, height: int, feather: int
) -> tuple[Image.Image, np.ndarray]:
    """The binary mask at the job's size (white: repaint) and the keep-alpha (0..1)."""
    region = mask.convert("L")
    if region.size != (width, height):
        region = region.resize((width, height), Image.Resampling.NEAREST)
    inside = np.asarray(region) >= REGION // 2
    binary = Image.fromarray(np.where(inside, REGION, 0).astype(np.uint8), "L")
    repaint = inside.astype(np.float32)
    if feather:
        # A blurred edge is 0.5 on the boundary: stretched, it rises from 0 there to 1 about
        # ``feather`` pixels in; outside the region it stays 0.
        blurred = np.asarray(binary.filter(ImageFilter.GaussianBlur(feather / 2)), np.float32)
        ramp = np.clip((blurred / REGION - 0.5) * 2.0, 0.0, 1.0)
        repaint = ramp.astype(np.float32) * repaint
    return binary, 1.0 - repaint
