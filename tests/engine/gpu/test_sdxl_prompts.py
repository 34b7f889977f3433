"""compel on SDXL: both text encoders, the pooled embedding, blends and long prompts."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from imagine_bot.engine.gpu.conditioning import text_conditioning
from imagine_bot.engine.gpu.families import FAMILIES
from imagine_bot.engine.gpu.prompt_encoding import encode_sdxl
from imagine_bot.engine.spec import GenerationSpec, PromptPart
from tests.support.tiny_sdxl import FIRST_WIDTH, SECOND_WIDTH, build_tiny_sdxl


@pytest.fixture(scope="module")
def sdxl() -> Any:
    """A small random SDXL-shaped pipeline (two CLIP text encoders, text_time UNet)."""
    return build_tiny_sdxl()


def spec(prompt: str, **fields: Any) -> GenerationSpec:
    return GenerationSpec(
        prompt=prompt,
        parts=(PromptPart(text=prompt),),
        negative_prompt=fields.pop("negative_prompt", ""),
        model="sdxl",
        width=64,
        height=64,
        steps=2,
        guidance=5.0,
        scheduler="euler",
        seeds=(1, 2),
        lane="fast",
        **fields,
    )


def test_a_short_prompt_encodes_as_diffusers_does(sdxl: Any) -> None:
    encoded = encode_sdxl(sdxl, (PromptPart(text="a lighthouse"),), "")
    embeds, negative, pooled, negative_pooled = sdxl.encode_prompt(
        "a lighthouse", device="cpu", num_images_per_prompt=1, do_classifier_free_guidance=True
    )
    assert torch.allclose(encoded.embeds, embeds, atol=1e-5)
    assert encoded.pooled is not None and torch.allclose(encoded.pooled, pooled, atol=1e-5)
    # an empty negative prompt is zeros on SDXL (force_zeros_for_empty_prompt)
    assert torch.equal(encoded.negative, negative) and not encoded.negative.any()
    assert encoded.negative_pooled is not None and torch.equal(
        encoded.negative_pooled, negative_pooled
    )


def test_a_blend_weighs_both_encoders_and_the_pooled_embedding(sdxl: Any) -> None:
    parts = (PromptPart(text="a red cat", weight=2.0), PromptPart(text="a blue dog", weight=-0.5))
    encoded = encode_sdxl(sdxl, parts, "fog")
    embeds, _, pooled, _ = sdxl.encode_prompt(
        ["a red cat", "a blue dog"], device="cpu", do_classifier_free_guidance=False
    )
    assert torch.allclose(encoded.embeds[0], (2.0 * embeds[0] - 0.5 * embeds[1]) / 1.5, atol=1e-5)
    assert encoded.pooled is not None
    assert torch.allclose(encoded.pooled[0], (2.0 * pooled[0] - 0.5 * pooled[1]) / 1.5, atol=1e-5)


def test_a_long_prompt_is_kept_and_the_job_runs(sdxl: Any) -> None:
    long = " ".join(["a lighthouse on a cliff at dusk"] * 7)
    tokens = len(sdxl.tokenizer(long).input_ids) - 2  # without the start and end tokens
    assert tokens > 2 * 75
    text = text_conditioning(
        sdxl, FAMILIES["sdxl"], spec(long, negative_prompt="fog", chaos=0.5), print
    )
    prompt_embeds = text.inputs["prompt_embeds"]
    assert prompt_embeds.shape == (
        2,
        77 * math.ceil(tokens / 75),
        FIRST_WIDTH + SECOND_WIDTH,
    )  # both encoders side by side
    assert text.inputs["negative_prompt_embeds"].shape == prompt_embeds.shape
    assert text.inputs["pooled_prompt_embeds"].shape == (2, SECOND_WIDTH)
    images = sdxl(**text.inputs, num_inference_steps=2, width=32, height=32, output_type="pt")
    assert images.images.shape == (2, 3, 32, 32)
