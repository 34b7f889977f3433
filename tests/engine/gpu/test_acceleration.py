"""The GPU-path settings: per-device defaults, and each setting visibly changing the pipeline."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest
import torch
from diffusers.models.attention_processor import AttnProcessor, AttnProcessor2_0

from imagine_bot.config import Settings, SettingsError, load_settings
from imagine_bot.config.engine import EngineSettings
from imagine_bot.engine.control import JobControl
from imagine_bot.engine.gpu.acceleration import (
    DeviceTraits,
    offload_for,
    plan_acceleration,
)
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.engine.gpu.tiny import build_tiny_pipeline
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.plugins.planner import JobPlanner
from imagine_bot.plugins.runner import JobRunner

CPU = DeviceTraits(torch.device("cpu"))
H100 = DeviceTraits(torch.device("cuda"), total_memory=80 * 2**30, bf16=True)
TURING = DeviceTraits(torch.device("cuda:1"), total_memory=8 * 2**30, bf16=False)


def loaded(test_env: dict[str, str], **engine: str) -> Any:
    """The tiny pipeline as the registry loads it with these ``[engine]`` settings."""
    env = {f"IMAGINE_ENGINE__{key.upper()}": value for key, value in engine.items()}
    registry = ModelRegistry(load_settings(env={**test_env, **env}))
    registry.claim_thread()
    return registry.pipeline("tiny")


def processor_classes(model: Any) -> set[type]:
    return {type(processor) for processor in model.attn_processors.values()}


def is_channels_last(model: Any) -> bool:
    weight = model.conv_in.weight
    return bool(weight.is_contiguous(memory_format=torch.channels_last)) and not bool(
        weight.is_contiguous()
    )


def test_auto_is_fast_settings_on_a_gpu_and_plain_ones_on_a_cpu() -> None:
    cpu = plan_acceleration(EngineSettings(), CPU)
    assert (cpu.dtype, cpu.attention, cpu.channels_last) == (torch.float32, "sdpa", False)
    assert (cpu.cpu_offload, cpu.compile, cpu.compile_mode) == ("off", False, "default")

    gpu = plan_acceleration(EngineSettings(), H100)
    assert (gpu.dtype, gpu.attention, gpu.channels_last) == (torch.bfloat16, "sdpa", True)
    assert (gpu.cpu_offload, gpu.compile) == ("auto", False)
    assert gpu.compile_mode == "max-autotune-no-cudagraphs"

    # GPUs without full-speed bfloat16 (before Ampere) get float16.
    assert plan_acceleration(EngineSettings(), TURING).dtype == torch.float16


def test_explicit_settings_win_over_auto() -> None:
    engine = EngineSettings(
        dtype="float16",
        channels_last=False,
        attention="eager",
        compile=True,
        compile_mode="reduce-overhead",
        cpu_offload="sequential",
    )
    plan = plan_acceleration(engine, H100)
    assert (plan.dtype, plan.channels_last, plan.attention) == (torch.float16, False, "eager")
    assert (plan.compile, plan.compile_mode, plan.cpu_offload) == (
        True,
        "reduce-overhead",
        "sequential",
    )
    assert plan_acceleration(EngineSettings(channels_last=True), CPU).channels_last


def test_auto_offload_is_for_weights_that_crowd_the_gpu() -> None:
    pipeline = build_tiny_pipeline()
    weights = sum(
        parameter.numel() * parameter.element_size()
        for component in (pipeline.unet, pipeline.vae, pipeline.text_encoder)
        for parameter in component.parameters()
    )
    roomy = plan_acceleration(EngineSettings(), DeviceTraits(H100.device, 3 * weights, True))
    cramped = plan_acceleration(EngineSettings(), DeviceTraits(H100.device, weights, True))
    assert offload_for(pipeline, roomy) == "off"
    assert offload_for(pipeline, cramped) == "model"
    assert offload_for(pipeline, plan_acceleration(EngineSettings(), CPU)) == "off"


def test_offload_asked_for_on_a_cpu_is_ignored_with_a_warning(
    test_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="imagine_bot.engine.gpu.acceleration"):
        pipeline = loaded(test_env, cpu_offload="model")
    assert "engine.cpu_offload = 'model' needs a GPU" in caplog.text
    assert not hasattr(pipeline.unet, "_hf_hook")  # no accelerate offload hooks
    assert pipeline.device.type == "cpu"
    # auto stays quiet on a CPU: there is nothing to decide
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="imagine_bot.engine.gpu.acceleration"):
        plan_acceleration(EngineSettings(), CPU)
    assert caplog.text == ""


def test_attention_setting_picks_the_processor_of_unet_and_vae(test_env: dict[str, str]) -> None:
    sdpa = loaded(test_env)
    assert processor_classes(sdpa.unet) == {AttnProcessor2_0}
    assert processor_classes(sdpa.vae) == {AttnProcessor2_0}
    eager = loaded(test_env, attention="eager")
    assert processor_classes(eager.unet) == {AttnProcessor}
    assert processor_classes(eager.vae) == {AttnProcessor}


def test_channels_last_setting_changes_the_memory_format(test_env: dict[str, str]) -> None:
    default = loaded(test_env)  # auto: off on a CPU
    assert not is_channels_last(default.unet) and not is_channels_last(default.vae.encoder)
    nhwc = loaded(test_env, channels_last="true")
    assert is_channels_last(nhwc.unet) and is_channels_last(nhwc.vae.encoder)


def test_the_vae_slices_and_tiles_above_the_thresholds(test_env: dict[str, str]) -> None:
    # Slicing above three 64x64 images per batch, tiling above one 64x64 image.
    pipeline = loaded(test_env, vae_slice_above=str(3 * 64 * 64), vae_tile_above=str(64 * 64))
    vae = pipeline.vae

    def decode(batch: int, side: int) -> torch.Tensor:
        latents = torch.randn(
            batch, 4, side // 8, side // 8, generator=torch.Generator().manual_seed(1)
        )
        with torch.no_grad():
            return vae.decode(latents, return_dict=False)[0]

    decode(4, 64)
    assert (vae.use_slicing, vae.use_tiling) == (True, False)
    decode(2, 64)
    assert (vae.use_slicing, vae.use_tiling) == (False, False)
    decode(1, 128)
    assert (vae.use_slicing, vae.use_tiling) == (False, True)
    # the policy only changes how the decode runs, not what it computes
    sliced = decode(4, 64)
    vae.use_slicing = False
    whole = vae._decode(
        torch.randn(4, 4, 8, 8, generator=torch.Generator().manual_seed(1)), return_dict=False
    )[0]
    assert torch.allclose(sliced, whole, atol=1e-5)
    # encoding (image-to-image, HD) follows the same rule, measured in image pixels
    with torch.no_grad():
        vae.encode(torch.zeros(1, 3, 128, 128))
    assert (vae.use_slicing, vae.use_tiling) == (False, True)
    with torch.no_grad():
        vae.encode(torch.zeros(2, 3, 64, 64))
    assert (vae.use_slicing, vae.use_tiling) == (False, False)

    never = loaded(test_env, vae_slice_above="0", vae_tile_above="0").vae
    with torch.no_grad():
        never.decode(torch.zeros(4, 4, 32, 32), return_dict=False)
    assert (never.use_slicing, never.use_tiling) == (False, False)


def test_compile_setting_compiles_the_unet_in_place(test_env: dict[str, str]) -> None:
    plain = loaded(test_env)
    assert plain.unet._compiled_call_impl is None
    compiled = loaded(test_env, compile="true")
    assert compiled.unet._compiled_call_impl is not None
    assert type(compiled.unet).__name__ == "UNet2DConditionModel"  # still the pipeline's UNet


def test_unknown_engine_values_are_refused(test_env: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match=r"engine\.cpu_offload"):
        load_settings(env={**test_env, "IMAGINE_ENGINE__CPU_OFFLOAD": "always"})
    with pytest.raises(SettingsError, match=r"engine\.vae_tile_above"):
        load_settings(env={**test_env, "IMAGINE_ENGINE__VAE_TILE_ABOVE": "-1"})


def test_warm_up_loads_the_preset_on_the_worker_thread(settings: Settings) -> None:
    registry = ModelRegistry(settings)
    with pytest.raises(RuntimeError, match="GPU worker thread"):
        registry.warm_up("tiny")
    runner = JobRunner(build_plugin_manager(settings), registry)
    try:
        seconds = runner.call(registry.warm_up, "tiny").result()
    finally:
        runner.close()
    assert seconds > 0
    assert "tiny" in registry._pipelines


@pytest.mark.slow
async def test_a_compiled_unet_warms_up_then_makes_the_same_grid(
    test_env: dict[str, str],
) -> None:
    """torch.compile on a CPU needs a C compiler and a minute or two; the result must not move."""
    env = {**test_env, "IMAGINE_MODELS__TINY__RESOLUTION": "64", "IMAGINE_MODELS__TINY__STEPS": "2"}
    images: dict[str, list[np.ndarray]] = {}
    for compile_unet in ("false", "true"):
        settings = load_settings(env={**env, "IMAGINE_ENGINE__COMPILE": compile_unet})
        manager = build_plugin_manager(settings)
        (spec,) = await JobPlanner(settings, manager).plan("a fox --seed 3")
        runner = JobRunner(manager, ModelRegistry(settings))
        try:
            runner.call(runner.models.warm_up, "tiny").result()
            result = runner.submit(spec, JobControl()).result()
        finally:
            runner.close()
        images[compile_unet] = [np.asarray(image, dtype=np.float32) for image in result.images]
    for eager, compiled in zip(images["false"], images["true"], strict=True):
        assert np.abs(eager - compiled).max() <= 2
