"""A Stable Diffusion 1.x single-file checkpoint (the original ``ldm`` key layout, as on Civitai)
written from a diffusers pipeline: the inverse of diffusers' ``convert_ldm_*_checkpoint``.

diffusers ships only the ldm -> diffusers direction, so this writes the other one for UNets
built from plain (``DownBlock2D``/``CrossAttnDownBlock2D``) blocks, any block count and depth,
which is what the tiny model is; the test checks the round trip weight by weight.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from diffusers import StableDiffusionPipeline
from safetensors.torch import save_file

UNET_PREFIX = "model.diffusion_model."
VAE_PREFIX = "first_stage_model."
CLIP_PREFIX = "cond_stage_model.transformer."
_UNET_TOP = {
    "time_embedding.linear_1": "time_embed.0",
    "time_embedding.linear_2": "time_embed.2",
    "conv_in": "input_blocks.0.0",
    "conv_norm_out": "out.0",
    "conv_out": "out.2",
}
_UNET_RESNET = {
    "norm1": "in_layers.0",
    "conv1": "in_layers.2",
    "norm2": "out_layers.0",
    "conv2": "out_layers.3",
    "time_emb_proj": "emb_layers.1",
    "conv_shortcut": "skip_connection",
}
_VAE_TOP = {"conv_norm_out": "norm_out"}
_VAE_ATTENTION = {
    "group_norm": "norm",
    "to_q": "q",
    "to_k": "k",
    "to_v": "v",
    "to_out.0": "proj_out",
}


def save_single_file(pipeline: StableDiffusionPipeline, path: Path) -> Path:
    """Write ``pipeline``'s UNet, VAE and CLIP text encoder as one ldm-layout safetensors file."""
    checkpoint: dict[str, torch.Tensor] = {}
    unet = pipeline.unet
    for key, tensor in unet.state_dict().items():
        checkpoint[UNET_PREFIX + _unet_key(key, unet.config)] = tensor
    for key, tensor in pipeline.vae.state_dict().items():
        ldm_key, ldm_tensor = _vae_key(key, tensor, len(pipeline.vae.config.up_block_types))
        checkpoint[VAE_PREFIX + ldm_key] = ldm_tensor
    for key, tensor in pipeline.text_encoder.state_dict().items():
        name = key if key.startswith("text_model.") else f"text_model.{key}"
        checkpoint[CLIP_PREFIX + name] = tensor
    save_file({key: value.contiguous() for key, value in checkpoint.items()}, str(path))
    return path


def _rename(rest: str, table: dict[str, str]) -> str:
    for new, old in table.items():
        if rest == new or rest.startswith(new + "."):
            return old + rest[len(new) :]
    return rest


def _unet_key(key: str, config: Any) -> str:
    per_block = config.layers_per_block + 1  # the layers, then a down/upsampler
    parts = key.split(".")
    if parts[0] == "down_blocks":
        block, kind = int(parts[1]), parts[2]
        if kind == "downsamplers":
            return (
                f"input_blocks.{1 + block * per_block + config.layers_per_block}.0.op." + parts[-1]
            )
        layer, rest = int(parts[3]), ".".join(parts[4:])
        index = 1 + block * per_block + layer
        if kind == "resnets":
            return f"input_blocks.{index}.0.{_rename(rest, _UNET_RESNET)}"
        return f"input_blocks.{index}.1.{rest}"
    if parts[0] == "mid_block":
        kind, layer, rest = parts[1], int(parts[2]), ".".join(parts[3:])
        if kind == "resnets":
            return f"middle_block.{2 * layer}.{_rename(rest, _UNET_RESNET)}"
        return f"middle_block.1.{rest}"
    if parts[0] == "up_blocks":
        block, kind = int(parts[1]), parts[2]
        if kind == "upsamplers":
            crossattn = "CrossAttn" in config.up_block_types[block]
            last = block * per_block + config.layers_per_block
            return f"output_blocks.{last}.{2 if crossattn else 1}.conv." + parts[-1]
        layer, rest = int(parts[3]), ".".join(parts[4:])
        index = block * per_block + layer
        if kind == "resnets":
            return f"output_blocks.{index}.0.{_rename(rest, _UNET_RESNET)}"
        return f"output_blocks.{index}.1.{rest}"
    return _rename(key, _UNET_TOP)


def _vae_key(key: str, tensor: torch.Tensor, blocks: int) -> tuple[str, torch.Tensor]:
    coder, *parts = key.split(".")
    if coder not in ("encoder", "decoder"):  # quant_conv, post_quant_conv
        return key, tensor
    if parts[0] in ("down_blocks", "up_blocks"):
        block = int(parts[1])
        ldm_block = block if parts[0] == "down_blocks" else blocks - 1 - block
        stage = "down" if parts[0] == "down_blocks" else "up"
        if parts[2] in ("downsamplers", "upsamplers"):
            name = "downsample" if stage == "down" else "upsample"
            return f"{coder}.{stage}.{ldm_block}.{name}.conv.{parts[-1]}", tensor
        rest = ".".join(parts[4:]).replace("conv_shortcut", "nin_shortcut")
        return f"{coder}.{stage}.{ldm_block}.block.{parts[3]}.{rest}", tensor
    if parts[0] == "mid_block":
        rest = ".".join(parts[3:])
        if parts[1] == "resnets":
            return f"{coder}.mid.block_{int(parts[2]) + 1}.{rest}", tensor
        # ldm's attention projections are 1x1 convolutions
        ldm_tensor = tensor[:, :, None, None] if tensor.ndim == 2 else tensor
        return f"{coder}.mid.attn_1.{_rename(rest, _VAE_ATTENTION)}", ldm_tensor
    return f"{coder}.{_rename('.'.join(parts), _VAE_TOP)}", tensor
