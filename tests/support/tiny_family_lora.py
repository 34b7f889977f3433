"""Random LoRAs for the transformer of a tiny family model, saved in that family's format."""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import DiffusionPipeline
from peft import LoraConfig
from peft.utils import get_peft_model_state_dict

TARGETS = ("to_q", "to_k", "to_v")
RANK = 4


def save_transformer_lora(pipeline: DiffusionPipeline, path: Path, seed: int) -> Path:
    """A rank-4 LoRA with random (non-zero) weights on the attention projections of a
    transformer shaped like ``pipeline``'s, saved with the pipeline class's
    ``save_lora_weights`` (the file diffusers' trainers write for that family)."""
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = type(pipeline.transformer).from_config(pipeline.transformer.config)
        model.add_adapter(
            LoraConfig(
                r=RANK, lora_alpha=RANK, target_modules=list(TARGETS), init_lora_weights=False
            )
        )
        layers = get_peft_model_state_dict(model)
    finally:
        torch.random.set_rng_state(state)
    type(pipeline).save_lora_weights(
        path.parent, transformer_lora_layers=layers, weight_name=path.name
    )
    return path
