"""Black (NaN) images are made again with the VAE in float32, and never delivered."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from diffusers import AutoencoderKL
from PIL import Image

from imagine_bot.config import Settings
from imagine_bot.engine.control import JobControl
from imagine_bot.engine.gpu.generate import generate
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.engine.gpu.soundness import BlankImages, blank, vae_in_float32
from imagine_bot.engine.gpu.tiny.sd import tiny_vae
from imagine_bot.plugins.planner import JobPlanner


class HalfPipeline:
    def __init__(self, vae: AutoencoderKL) -> None:
        self.vae = vae


def test_an_image_black_all_over_is_blank() -> None:
    black = Image.new("RGB", (8, 8))
    dark = Image.fromarray(np.eye(8, dtype=np.uint8)[..., None].repeat(3, axis=2))
    assert blank([dark, black]) and not blank([dark])


def test_the_vae_runs_in_float32_inside_the_block_only() -> None:
    vae = tiny_vae().to(torch.float16)
    seen: list[torch.dtype] = []
    decode = vae.decode

    def recording(latents: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        seen.append(latents.dtype)
        return decode(latents, *args, **kwargs)

    vae.decode = recording  # like the decode policy acceleration installs
    with vae_in_float32(HalfPipeline(vae)) as upcast:
        assert upcast and vae.dtype == torch.float32
        vae.decode(torch.zeros(1, 4, 2, 2, dtype=torch.float16))
    assert seen == [torch.float32]
    assert vae.dtype == torch.float16 and vae.decode is recording
    with vae_in_float32(HalfPipeline(tiny_vae())) as upcast:
        assert not upcast  # already float32: a retry would change nothing


@pytest.mark.slow
async def test_black_images_fail_the_job_with_a_sentence(
    planner: JobPlanner, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    (spec,) = await planner.plan("a lighthouse --seed 3")
    models = ModelRegistry(settings)
    models.claim_thread()
    vae = models.pipeline(spec.model).vae
    decode = vae.decode

    def nan_decode(latents: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        return decode(latents * float("nan"), *args, **kwargs)

    monkeypatch.setattr(vae, "decode", nan_decode)
    with pytest.raises(BlankImages, match="blank images"):
        generate(spec, models, JobControl())
