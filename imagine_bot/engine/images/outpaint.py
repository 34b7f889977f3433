"""Outpainting geometry and compositing for Zoom Out, Make Square and Pan.

Planning (event loop, no torch): a canvas around the source image, on the size grid
(``sizes.py``: multiples of 64, or of 16 for small canvases) and within a pixel budget; when
the canvas would be larger, canvas and source are scaled down together. Rendering (GPU
worker): the source pasted on the canvas, a mask of what to generate, and after generation
the source pasted back through a feathered edge, so the kept pixels are exactly the source's
(resized to its place) everywhere but a thin blend band along the seams.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from PIL import Image

from imagine_bot.engine.images.sizes import canvas_step, snap_down
from imagine_bot.engine.spec import Placement

MIN_FEATHER = 8
"""Pixels: the inpainting mask works on latents, an eighth of the image's size."""
FILL = (127, 127, 127)

Direction = Literal["left", "right", "up", "down"]


def plan_zoom(
    width: int, height: int, factor: float, budget: int, feather: float
) -> tuple[int, int, Placement]:
    """Zoom out: the source, centred, fills ``1/factor`` of each side of a canvas that keeps
    the source's own pixel area (so the result is as large as the source, within ``budget``)."""
    canvas = (width * factor, height * factor)
    box = ((canvas[0] - width) / 2, (canvas[1] - height) / 2, width, height)
    return _fit(canvas, box, min(budget, width * height), feather)


def plan_square(width: int, height: int, budget: int, feather: float) -> tuple[int, int, Placement]:
    """Make Square: the source centred on a square canvas as wide as its longer side."""
    side = max(width, height)
    box = ((side - width) / 2, (side - height) / 2, width, height)
    return _fit((side, side), box, budget, feather)


def plan_pan(
    width: int, height: int, direction: Direction, fraction: float, budget: int, feather: float
) -> tuple[int, int, Placement]:
    """Pan: the canvas grows by ``fraction`` of the source's side in ``direction``; the source
    keeps its place on the other side."""
    grow_x = width * fraction if direction in ("left", "right") else 0.0
    grow_y = height * fraction if direction in ("up", "down") else 0.0
    x = grow_x if direction == "left" else 0.0
    y = grow_y if direction == "up" else 0.0
    return _fit((width + grow_x, height + grow_y), (x, y, width, height), budget, feather)


def _fit(
    canvas: tuple[float, float],
    box: tuple[float, float, float, float],
    budget: int,
    feather: float,
) -> tuple[int, int, Placement]:
    """Scale ``canvas`` (and ``box`` with it) to at most ``budget`` pixels, on the size grid."""
    scale = min(1.0, math.sqrt(budget / (canvas[0] * canvas[1])))
    step = canvas_step(canvas[0] * scale, canvas[1] * scale)
    width, height = snap_down(canvas[0] * scale, step), snap_down(canvas[1] * scale, step)
    sx, sy = width / canvas[0], height / canvas[1]
    left, top = round(box[0] * sx), round(box[1] * sy)
    right = min(width, round((box[0] + box[2]) * sx))
    bottom = min(height, round((box[1] + box[3]) * sy))
    band = feather_band(feather, width, height)
    placement = Placement(
        x=left, y=top, width=max(1, right - left), height=max(1, bottom - top), feather=band
    )
    return width, height, placement


def feather_band(fraction: float, width: int, height: int) -> int:
    """The blend band, in pixels, for a ``feather`` setting (a fraction of the shorter side)."""
    return max(MIN_FEATHER, round(fraction * min(width, height))) if fraction > 0 else 0


def prepare(
    source: Image.Image, placement: Placement, width: int, height: int
) -> tuple[Image.Image, Image.Image, np.ndarray]:
    """The canvas with the source in place, the mask of what to generate (white), and the
    alpha (0..1) with which the source is pasted back afterwards."""
    placed = source.convert("RGB").resize(
        (placement.width, placement.height), Image.Resampling.LANCZOS
    )
    canvas = Image.new("RGB", (width, height), FILL)
    canvas.paste(placed, (placement.x, placement.y))
    keep = keep_alpha(placement, width, height)
    # Generate everything not kept outright: the blend band is repainted too, so the model
    # sees the seam and continues the source across it.
    mask = Image.fromarray(np.where(keep >= 1.0, 0, 255).astype(np.uint8), "L")
    return canvas, mask, keep


def keep_alpha(placement: Placement, width: int, height: int) -> np.ndarray:
    """1 over the source, falling linearly to 0 across the feather band at each edge of the
    source that meets generated canvas (edges on the canvas border stay hard)."""
    alpha = np.zeros((height, width), dtype=np.float32)
    box = np.ones((placement.height, placement.width), dtype=np.float32)
    band = placement.feather
    if band:
        ramp = np.minimum(1.0, (np.arange(band, dtype=np.float32) + 1) / (band + 1))
        sides = {
            "left": placement.x > 0,
            "right": placement.x + placement.width < width,
            "top": placement.y > 0,
            "bottom": placement.y + placement.height < height,
        }
        n = min(band, placement.width // 2)
        if sides["left"]:
            box[:, :n] = np.minimum(box[:, :n], ramp[:n])
        if sides["right"]:
            box[:, -n:] = np.minimum(box[:, -n:], ramp[:n][::-1])
        m = min(band, placement.height // 2)
        if sides["top"]:
            box[:m, :] = np.minimum(box[:m, :], ramp[:m, None])
        if sides["bottom"]:
            box[-m:, :] = np.minimum(box[-m:, :], ramp[:m][::-1, None])
    alpha[
        placement.y : placement.y + placement.height, placement.x : placement.x + placement.width
    ] = box
    return alpha


def composite(generated: Image.Image, canvas: Image.Image, keep: np.ndarray) -> Image.Image:
    """``generated`` with the source pixels of ``canvas`` put back where ``keep`` says."""
    if generated.size != canvas.size:
        generated = generated.resize(canvas.size, Image.Resampling.LANCZOS)
    new = np.asarray(generated.convert("RGB"), dtype=np.float32)
    old = np.asarray(canvas, dtype=np.float32)
    mixed = old * keep[..., None] + new * (1.0 - keep[..., None])
    return Image.fromarray(np.rint(mixed).clip(0, 255).astype(np.uint8), "RGB")
