"""A LoRA in each family's own format changes the image, and unloads exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import DiffusionPipeline

from imagine_bot.config import Settings
from imagine_bot.config.loras import LoraPreset
from imagine_bot.engine.gpu.families import FAMILIES, family_of
from imagine_bot.engine.gpu.loras import applied_loras
from imagine_bot.engine.gpu.tiny import ensure_builtin
from imagine_bot.engine.spec import GenerationSpec, LoraUse
from tests.support.tiny_family_lora import save_transformer_lora

TRANSFORMER_TINY = [
    family.tiny_source
    for family in FAMILIES.values()
    if family.tiny_source not in (None, "builtin:tiny")
]


def image(pipeline: DiffusionPipeline) -> np.ndarray:
    result = pipeline(
        prompt="a lighthouse", width=64, height=64, num_inference_steps=2,
        generator=torch.Generator("cpu").manual_seed(5),
    )  # fmt: skip
    return np.asarray(result.images[0])


@pytest.mark.slow
@pytest.mark.parametrize("source", TRANSFORMER_TINY)
def test_a_lora_changes_the_image_and_unloads_exactly(
    source: str, settings: Settings, tmp_path: Path
) -> None:
    pipeline = DiffusionPipeline.from_pretrained(ensure_builtin(source, settings.paths.models))
    pipeline.set_progress_bar_config(disable=True)
    family = family_of(pipeline)
    assert family.lora
    lora = save_transformer_lora(pipeline, tmp_path / "style.safetensors", seed=3)
    presets = {"style": LoraPreset(source=str(lora), family=family.name)}
    spec = GenerationSpec(
        prompt="a lighthouse", parts=(), negative_prompt="", model="m", width=64, height=64,
        steps=2, guidance=1.0, scheduler="default", seeds=(5,), lane="fast",
        loras=(LoraUse(name="style", weight=1.0),),
    )  # fmt: skip
    before = image(pipeline)
    with applied_loras(pipeline, spec, presets):
        during = image(pipeline)
    after = image(pipeline)
    assert not np.array_equal(before, during)
    assert np.array_equal(before, after)
