"""Model families and ``[loras.NAME]`` presets: LoRA weights members add with ``--lora``."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

ModelFamily = Literal["sd1", "sd2", "sdxl", "sd3", "flux1", "flux2", "zimage", "qwen_image", "tiny"]
"""The model architectures (``engine/gpu/families``, one module each); a LoRA only fits models
of its own family. ``tiny`` is the ``builtin:tiny`` model, SD 1.x-shaped but its own family for
LoRAs."""
MODEL_FAMILIES: tuple[str, ...] = get_args(ModelFamily)


class LoraPreset(BaseModel):
    """One LoRA: where its weights are, how strongly it applies, and the words that call it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(min_length=1)
    """A ``.safetensors`` file (diffusers/peft or kohya format), or a Hugging Face repo id."""
    weight_name: str | None = None
    """The file inside a repo ``source`` that holds the weights (unset: diffusers' default)."""
    family: ModelFamily
    """The model family it was trained for (``sd1``, ``sdxl``, ``flux1``...)."""
    weight: float = Field(1.0, ge=-4.0, le=4.0)
    """Its strength when ``--lora NAME`` gives none."""
    triggers: str = ""
    """Words appended to the prompt whenever it is used (the trigger words it was trained on)."""
