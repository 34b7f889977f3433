"""Live previews: the latents projected to RGB with one small matrix, no VAE decode.

Each latent channel of a diffusion VAE maps roughly linearly to colour, so a Cx3 matrix (and a
bias) turns latents of shape (N, C, H/8, W/8) into an (H/8)x(W/8) RGB picture of each image.
The factors belong to the model family (``families``); latents a pipeline keeps packed as a
sequence of 2x2 patches (FLUX.1) are unpacked first. Costs are measured in
``benchmarks/preview.py``.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from imagine_bot.engine.gpu.families import LatentFormat
from imagine_bot.engine.images.grid import make_grid

VAE_SCALE = 8
"""Pixels per latent cell along each side, in every family's VAE."""


def unpack(latents: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """(N, cells, C*4) packed 2x2 patches -> (N, C, H/8, W/8), as diffusers' FLUX unpacks."""
    rows, columns = height // (VAE_SCALE * 2), width // (VAE_SCALE * 2)
    count, _, packed = latents.shape
    patches = latents.view(count, rows, columns, packed // 4, 2, 2)
    return patches.permute(0, 3, 1, 4, 2, 5).reshape(count, packed // 4, rows * 2, columns * 2)


def latents_to_rgb(latents: torch.Tensor, fmt: LatentFormat) -> list[Image.Image]:
    """One small RGB image per latent in the batch (each side an eighth of the image's)."""
    with torch.no_grad():
        factors = torch.tensor(fmt.factors, dtype=torch.float32, device=latents.device)
        bias = torch.tensor(fmt.bias, dtype=torch.float32, device=latents.device)
        rgb = torch.einsum("nchw,cr->nhwr", latents.float(), factors) + bias
        pixels = ((rgb + 1.0) * 127.5).clamp_(0, 255).to(torch.uint8).cpu().numpy()
    return [Image.fromarray(np.ascontiguousarray(image), "RGB") for image in pixels]


def preview_image(
    latents: torch.Tensor, fmt: LatentFormat, size: tuple[int, int] | None = None
) -> Image.Image:
    """The batch's previews as one picture: the 2x2 grid, or the single image. ``size`` is the
    image's (width, height), which packed latents need to be unpacked."""
    if fmt.packed:
        if size is None:
            raise ValueError(f"{fmt.name} latents are packed: their image size is needed")
        latents = unpack(latents, *size)
    images = latents_to_rgb(latents, fmt)
    return images[0] if len(images) == 1 else make_grid(images)
