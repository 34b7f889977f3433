"""Live previews: the latents projected to RGB with one small matrix, no VAE decode.

Each latent channel of a Stable Diffusion VAE maps roughly linearly to colour, so a 4x3 matrix
(and a bias) turns latents of shape (N, 4, H/8, W/8) into an (H/8)x(W/8) RGB picture of each
image. The factors are the ones ComfyUI fitted for its previews, per model family, applied to
latents in the pipeline's (scaled) space. Costs are measured in ``benchmarks/preview.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from diffusers import DiffusionPipeline
from PIL import Image

from imagine_bot.engine.gpu.conditioning import SDXL_PIPELINES
from imagine_bot.engine.images.grid import make_grid


@dataclass(frozen=True)
class LatentFormat:
    name: str
    factors: tuple[tuple[float, float, float], ...]
    """One (R, G, B) row per latent channel."""
    bias: tuple[float, float, float] = (0.0, 0.0, 0.0)


SD1 = LatentFormat(
    "sd1",
    (
        (0.3512, 0.2297, 0.3227),
        (0.3250, 0.4974, 0.2350),
        (-0.2829, 0.1762, 0.2721),
        (-0.2120, -0.2616, -0.7177),
    ),
)
"""Stable Diffusion 1.x and 2.x (the same VAE)."""

SDXL = LatentFormat(
    "sdxl",
    (
        (0.3651, 0.4232, 0.4341),
        (-0.2533, -0.0042, 0.1068),
        (0.1076, 0.1111, -0.0362),
        (-0.3165, -0.2492, -0.2188),
    ),
    (0.1084, -0.0175, -0.0011),
)


def latent_format(pipeline: DiffusionPipeline) -> LatentFormat | None:
    """The preview factors for ``pipeline``'s latents, or None for a family without them."""
    vae = getattr(pipeline, "vae", None)
    if vae is None or getattr(vae.config, "latent_channels", None) != len(SD1.factors):
        return None
    return SDXL if isinstance(pipeline, SDXL_PIPELINES) else SD1


def latents_to_rgb(latents: torch.Tensor, fmt: LatentFormat) -> list[Image.Image]:
    """One small RGB image per latent in the batch (each side an eighth of the image's)."""
    with torch.no_grad():
        factors = torch.tensor(fmt.factors, dtype=torch.float32, device=latents.device)
        bias = torch.tensor(fmt.bias, dtype=torch.float32, device=latents.device)
        rgb = torch.einsum("nchw,cr->nhwr", latents.float(), factors) + bias
        pixels = ((rgb + 1.0) * 127.5).clamp_(0, 255).to(torch.uint8).cpu().numpy()
    return [Image.fromarray(np.ascontiguousarray(image), "RGB") for image in pixels]


def preview_image(latents: torch.Tensor, fmt: LatentFormat) -> Image.Image:
    """The batch's previews as one picture: the 2x2 grid, or the single image."""
    images = latents_to_rgb(latents, fmt)
    return images[0] if len(images) == 1 else make_grid(images)
