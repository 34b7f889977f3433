"""A tiny, randomly initialised IP-Adapter for a UNet, saved in the official layout.

``<folder>/ip-adapter.safetensors`` holds ``image_proj.*`` (the projection from a CLIP image
embedding to four extra context tokens) and ``ip_adapter.<n>.to_k_ip/to_v_ip`` for every
cross-attention layer, numbered as the original IP-Adapter numbers attention processors (each
``attn2`` of the UNet is an odd number: 1, 3, 5, ...); ``<folder>/image_encoder`` is a small
CLIP vision model with projection. diffusers' ``load_ip_adapter`` reads it exactly as it reads
the published weights, which is what the tests need; its effect on images is noise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

WEIGHT_NAME = "ip-adapter.safetensors"
TOKENS = 4
_SEED = 20261123


def build_tiny_ip_adapter(unet: Any, folder: Path, *, embed_dim: int = 32) -> Path:
    """Write random adapter weights shaped for ``unet`` and a tiny image encoder into
    ``folder``; returns ``folder``."""
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(_SEED)
    try:
        encoder = CLIPVisionModelWithProjection(
            CLIPVisionConfig(
                hidden_size=32,
                intermediate_size=64,
                num_hidden_layers=2,
                num_attention_heads=4,
                image_size=32,
                patch_size=8,
                projection_dim=embed_dim,
            )
        )
        cross = unet.config.cross_attention_dim
        tensors = {
            "image_proj.proj.weight": torch.randn(TOKENS * cross, embed_dim) / embed_dim**0.5,
            "image_proj.proj.bias": torch.zeros(TOKENS * cross),
            "image_proj.norm.weight": torch.ones(cross),
            "image_proj.norm.bias": torch.zeros(cross),
        }
        number = 1
        for name in unet.attn_processors:
            if name.endswith("attn1.processor"):
                continue
            attention = unet.get_submodule(name.removesuffix(".processor"))
            hidden = attention.to_k.out_features
            for key in ("to_k_ip", "to_v_ip"):
                tensors[f"ip_adapter.{number}.{key}.weight"] = (
                    torch.randn(hidden, cross) / cross**0.5
                )
            number += 2
    finally:
        torch.random.set_rng_state(generator_state)
    folder.mkdir(parents=True, exist_ok=True)
    encoder.save_pretrained(folder / "image_encoder")
    save_file({key: value.contiguous() for key, value in tensors.items()}, folder / WEIGHT_NAME)
    return folder
