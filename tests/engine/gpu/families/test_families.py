"""The family layer: every family's tables, detection, guidance, previews, ``--stop``'s flow
estimate, and the tiny model and preset of each family."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from diffusers import (
    FlowMatchEulerDiscreteScheduler,
    FluxKontextPipeline,
    FluxPipeline,
    QwenImageEditPipeline,
    StableDiffusionPipeline,
    StableDiffusionXLInpaintPipeline,
)
from diffusers.configuration_utils import FrozenDict

from imagine_bot.config import Settings, load_settings
from imagine_bot.engine.control import JobControl
from imagine_bot.engine.gpu.conditioning import TextConditioning
from imagine_bot.engine.gpu.families import (
    FAMILIES,
    UnknownFamily,
    family_named,
    family_of,
)
from imagine_bot.engine.gpu.previews import preview_image, unpack
from imagine_bot.engine.gpu.sampling import StepHooks
from imagine_bot.engine.gpu.tiny import BUILDERS, PREFIX, build_builtin, ensure_builtin
from imagine_bot.engine.spec import GenerationSpec

TINY = [family.tiny_source for family in FAMILIES.values() if family.tiny_source]


def test_every_family_says_what_it_runs_each_task_with() -> None:
    assert list(FAMILIES) == [
        "sd1", "sd2", "sdxl", "sd3", "flux1", "flux2", "zimage", "qwen_image",
    ]  # fmt: skip
    for family in FAMILIES.values():
        assert family.inpaint is not None, family.name
        tasks = [family.text_to_image, family.image_to_image, family.inpaint, family.edit]
        assert all(task is None or task in family.pipelines for task in tasks)
        assert family.runs_sampler("default")
        if family.estimate == "flow":  # flow-matching models keep their own scheduler
            assert not family.runs_sampler("dpmpp_2m_karras")
    assert FAMILIES["flux1"].edit is FluxKontextPipeline
    assert FAMILIES["qwen_image"].edit is QwenImageEditPipeline


def test_a_family_is_the_presets_else_the_pipeline_classes() -> None:
    flux = object.__new__(FluxPipeline)
    assert family_of(flux).name == "flux1"
    assert family_of(object.__new__(StableDiffusionXLInpaintPipeline)).name == "sdxl"
    sd = object.__new__(StableDiffusionPipeline)
    assert family_of(sd).name == "sd1"
    assert family_of(sd, "sd2").name == "sd2"  # same classes: only the preset tells them apart
    assert family_of(sd, "tiny").name == "sd1"  # the tiny model's LoRA family
    assert family_named("nope") is None
    with pytest.raises(UnknownFamily, match=r"FLUX\.1"):
        family_of(object())


def test_guidance_goes_where_each_family_reads_it() -> None:
    flux = object.__new__(FluxPipeline)
    flux._internal_dict = FrozenDict()  # a config without is_distilled
    assert FAMILIES["flux1"].guidance_inputs(flux, 3.5) == {"guidance_scale": 3.5}
    assert FAMILIES["qwen_image"].guidance_inputs(flux, 4.0) == {"true_cfg_scale": 4.0}
    distilled = object.__new__(FluxPipeline)
    distilled._internal_dict = FrozenDict(is_distilled=True)
    assert FAMILIES["flux2"].guidance_inputs(distilled, 4.0) == {}


def test_every_tiny_model_has_a_preset_of_its_name_and_family() -> None:
    settings = load_settings(env={})
    for family in FAMILIES.values():
        if family.tiny_source is None:
            continue
        name = family.tiny_source.removeprefix(PREFIX)
        assert name in BUILDERS
        preset = settings.models[name]
        assert preset.source == family.tiny_source
        assert family_named(preset.family or "") == family
    assert settings.models["tiny-flux"].draft_model == "tiny-flux-draft"


def test_an_unknown_builtin_source_names_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="builtin:tiny-flux"):
        ensure_builtin("builtin:tiny-nope", tmp_path)


def test_packed_latents_unpack_to_the_image_grid() -> None:
    channels, rows, columns = 16, 4, 6  # a 96x64 image: 12x8 latent cells, packed 2x2
    grid = torch.arange(channels * rows * 2 * columns * 2, dtype=torch.float32).view(
        1, channels, rows * 2, columns * 2
    )
    packed = grid.view(1, channels, rows, 2, columns, 2).permute(0, 2, 4, 1, 3, 5)
    packed = packed.reshape(1, rows * columns, channels * 4)  # as FluxPipeline packs
    assert torch.equal(unpack(packed, width=96, height=64), grid)
    fmt = FAMILIES["flux1"].preview
    assert fmt is not None and fmt.packed
    preview = preview_image(packed.repeat(4, 1, 1), fmt, (96, 64))
    assert preview.size == (2 * 12, 2 * 8)  # the 2x2 grid of 12x8 previews


def test_stop_on_flow_matching_takes_x0_as_x_t_minus_sigma_v() -> None:
    spec = GenerationSpec(
        prompt="a fox", parts=(), negative_prompt="", model="tiny-flux", width=64, height=64,
        steps=4, guidance=3.5, scheduler="default", seeds=(1,), lane="fast",
    )  # fmt: skip
    hooks = StepHooks(spec, JobControl(), TextConditioning({}), FAMILIES["flux1"])
    scheduler = FlowMatchEulerDiscreteScheduler()
    scheduler.set_timesteps(4)
    hooks.tap(scheduler)
    sample, velocity = torch.randn(1, 16, 8, 8), torch.randn(1, 16, 8, 8)
    sigma = scheduler.sigmas[0]
    scheduler.step(velocity, scheduler.timesteps[0], sample)
    assert hooks.estimate is not None
    assert torch.allclose(hooks.estimate, sample - sigma * velocity)


@pytest.mark.slow
@pytest.mark.parametrize("source", TINY)
def test_each_tiny_model_is_its_family_and_loads_like_a_real_one(
    source: str, settings: Settings
) -> None:
    folder = ensure_builtin(source, settings.paths.models)
    assert (folder / "model_index.json").is_file()
    pipeline = type(build_builtin(source)).from_pretrained(folder)
    family = family_of(pipeline)
    assert family.tiny_source == source
    assert family.inpaint is not None
    assert isinstance(family.inpaint.from_pipe(pipeline), family.inpaint)
