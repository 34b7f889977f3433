"""Catching images that came out black, and the float32 VAE they are made again with.

A VAE decoding in float16 can overflow (SDXL's original VAE is known for it) and a broken
checkpoint can give NaN latents; diffusers turns NaN into black pixels. Such images are never
delivered: the job is run once more with the VAE in float32, and fails if they are black again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from diffusers import DiffusionPipeline
from PIL import Image

from imagine_bot.engine.errors import UserError


class BlankImages(UserError):
    """A pipeline's images came out black (NaN or zero), also after the float32 retry if one
    was possible; the job fails and its GPU time is refunded."""

    def __init__(self, model: str, *, retried_in_float32: bool) -> None:
        retried = " (also with its VAE in full precision)" if retried_in_float32 else ""
        super().__init__(
            f"The model {model!r} made blank images{retried}, so none were delivered and the "
            "job was refunded; the admin can check the model's weights."
        )
        self.model = model
        self.retried_in_float32 = retried_in_float32


def blank(images: Sequence[Image.Image]) -> bool:
    """Whether any image is black all over (what NaN pixels become)."""
    return any(not np.asarray(image).any() for image in images)


@contextmanager
def vae_in_float32(pipeline: DiffusionPipeline) -> Iterator[bool]:
    """Within the block ``pipeline``'s VAE runs in float32 (its input latents are cast to it);
    yields False, changing nothing, when it already does (a retry would give the same)."""
    vae = getattr(pipeline, "vae", None)
    if vae is None or vae.dtype == torch.float32:
        yield False
        return
    dtype = vae.dtype
    decode = vae.decode

    def decode_in_float32(latents: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        return decode(latents.to(torch.float32), *args, **kwargs)

    vae.to(torch.float32)
    vae.decode = decode_in_float32
    try:
        yield True
    finally:
        vae.decode = decode  # what it was, the decode policy's wrapper included
        vae.to(dtype)
