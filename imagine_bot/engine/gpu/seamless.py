"""``--tile``: seamless tiling by circular padding in every convolution of the UNet and VAE.

With circular padding, a convolution at the left edge sees the right edge as its neighbour
(and the top sees the bottom), so the whole network treats the image as a torus and what it
paints continues across the borders: the image tiles without seams. Only the padding mode of
``Conv2d`` layers changes, for the duration of one job; the weights are untouched and the
previous modes are restored afterwards, so the resident pipeline (and its img2img and inpaint
variants, which share these modules) is as before for the next job.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from torch import nn

if TYPE_CHECKING:
    from diffusers import DiffusionPipeline

TILED_COMPONENTS = ("unet", "vae", "transformer")


def tiling_convolutions(pipeline: DiffusionPipeline) -> list[nn.Conv2d]:
    """The convolutions whose padding decides whether the image tiles."""
    convolutions: list[nn.Conv2d] = []
    for name in TILED_COMPONENTS:
        module = getattr(pipeline, name, None)
        if isinstance(module, nn.Module):
            convolutions.extend(m for m in module.modules() if isinstance(m, nn.Conv2d))
    return convolutions


@contextmanager
def seamless(pipeline: DiffusionPipeline, enabled: bool = True) -> Iterator[None]:
    """Within the block, ``pipeline``'s UNet and VAE pad circularly (when ``enabled``)."""
    if not enabled:
        yield
        return
    convolutions = tiling_convolutions(pipeline)
    previous = [conv.padding_mode for conv in convolutions]
    try:
        for conv in convolutions:
            # Conv2d pads with F.pad(mode=padding_mode) whenever the mode is not "zeros",
            # using the padding it was built with, so switching the mode is enough.
            conv.padding_mode = "circular"
        yield
    finally:
        for conv, mode in zip(convolutions, previous, strict=True):
            conv.padding_mode = mode
