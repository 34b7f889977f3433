"""Random LoRAs for the tiny UNet, saved to disk in the two formats people share them in."""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import StableDiffusionPipeline, UNet2DConditionModel
from peft import LoraConfig
from peft.utils import get_peft_model_state_dict
from safetensors.torch import save_file

TARGETS = ("to_q", "to_k", "to_v", "to_out.0")
RANK = 4


def save_tiny_lora(
    unet: UNet2DConditionModel, path: Path, seed: int, *, kohya: bool = False
) -> Path:
    """A rank-4 LoRA on every attention projection of a UNet shaped like ``unet``, with random
    (non-zero) up and down weights from ``seed``; diffusers/peft format, or kohya's."""
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = UNet2DConditionModel.from_config(unet.config)
        model.add_adapter(
            LoraConfig(
                r=RANK, lora_alpha=RANK, target_modules=list(TARGETS), init_lora_weights=False
            )
        )
        layers = get_peft_model_state_dict(model)
    finally:
        torch.random.set_rng_state(state)
    if kohya:
        save_file(_kohya(layers), str(path))
    else:
        StableDiffusionPipeline.save_lora_weights(
            path.parent, unet_lora_layers=layers, weight_name=path.name
        )
    return path


def _kohya(layers: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """kohya's sd-scripts names: ``lora_unet_<module path with _>.lora_down/.lora_up`` + alpha."""
    out: dict[str, torch.Tensor] = {}
    for key, tensor in layers.items():
        module, _, kind = key.rpartition(".lora_")
        name = "lora_unet_" + module.replace(".", "_")
        out[f"{name}.{'lora_down' if kind.startswith('A') else 'lora_up'}.weight"] = tensor
        out[f"{name}.alpha"] = torch.tensor(float(RANK))
    return {key: value.contiguous() for key, value in out.items()}
