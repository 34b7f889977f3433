"""Each flag the engine honours changes the spec and the pipeline call as the README says."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch
from diffusers import EulerDiscreteScheduler
from PIL import Image

from imagine_bot.config import Settings
from imagine_bot.engine.control import JobControl
from imagine_bot.engine.gpu.conditioning import CHAOS_CLEAN_AT
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.engine.gpu.seamless import seamless, tiling_convolutions
from imagine_bot.engine.spec import GenerationSpec, PromptPart
from imagine_bot.plugins.planner import JobPlanner
from imagine_bot.plugins.runner import JobRunner
from tests.engine.conftest import UNetSpy


async def plan_one(planner: JobPlanner, text: str) -> GenerationSpec:
    (spec,) = await planner.plan(text)
    return spec


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float32)


def run(runner: JobRunner, spec: GenerationSpec, control: JobControl | None = None) -> list[Any]:
    return runner.submit(spec, control or JobControl()).result().images


async def test_honoured_flags_are_not_reported_as_ignored(planner: JobPlanner) -> None:
    spec = await plan_one(planner, "a fox --chaos 30 --stop 50 --tile --weird 5 --p --sv 2")
    assert not any(flag in " ".join(spec.warnings) for flag in ("--chaos", "--stop", "--tile"))
    for flag in ("--weird", "--p", "--sv"):
        assert any(flag in warning for warning in spec.warnings), flag
    stealthy = await plan_one(planner, "a fox --exp 10 --stealth")
    assert any("--exp" in warning for warning in stealthy.warnings)
    assert any("--stealth" in warning for warning in stealthy.warnings)


async def test_chaos_gives_each_image_its_own_annealed_prompt_noise(
    planner: JobPlanner, runner: JobRunner, unet_spy: UNetSpy
) -> None:
    calm = await plan_one(planner, "a lighthouse --seed 9")
    wild = await plan_one(planner, "a lighthouse --seed 9 --chaos 80")
    assert (calm.chaos, wild.chaos) == (0.0, 0.8)
    same = {"chaos": 0.0, "flags": calm.flags, "typed_prompt": calm.typed_prompt}
    assert wild.model_copy(update=same) == calm

    calm_images = run(runner, calm)
    calm_calls = list(unet_spy.calls)
    unet_spy.calls.clear()
    wild_images = run(runner, wild)
    steps = wild.steps
    assert len(unet_spy.calls) == len(calm_calls) == steps

    # Without chaos the four images share one prompt embedding...
    first = calm_calls[0].encoder_hidden_states[-4:]
    assert all(torch.equal(first[0], first[k]) for k in range(4))
    # ...with it, each image starts from its own noisy copy, the start token left alone,
    noisy = unet_spy.conditional(0)
    assert not any(torch.allclose(noisy[0], noisy[k]) for k in (1, 2, 3))
    assert torch.equal(noisy[:, 0], first[:, 0])
    assert (noisy - first).abs().mean() > 0.1 * first.abs().mean()
    # ...and the noise is gone once CHAOS_CLEAN_AT of the steps are done.
    clean_from = next(step for step in range(steps) if step / steps >= CHAOS_CLEAN_AT)
    for step in range(clean_from, steps):
        assert torch.allclose(unet_spy.conditional(step), first, atol=1e-6)
    # The unconditional half (the negative prompt) is never noised.
    assert torch.equal(
        unet_spy.calls[0].encoder_hidden_states[:4], calm_calls[0].encoder_hidden_states[:4]
    )
    assert any(
        np.abs(pixels(a) - pixels(b)).mean() > 1
        for a, b in zip(calm_images, wild_images, strict=True)
    )


async def test_chaos_is_reproducible(planner: JobPlanner, runner: JobRunner) -> None:
    spec = await plan_one(planner, "a lighthouse --seed 21 --chaos 100")
    first, second = run(runner, spec), run(runner, spec)
    assert all(np.array_equal(pixels(a), pixels(b)) for a, b in zip(first, second, strict=True))


async def test_stop_runs_that_share_of_the_steps_and_decodes_the_estimate(
    planner: JobPlanner, runner: JobRunner, unet_spy: UNetSpy
) -> None:
    full = await plan_one(planner, "a fox --seed 4 --q 2")
    half = await plan_one(planner, "a fox --seed 4 --q 2 --stop 50")
    assert (full.stop, half.stop) == (100, 50)
    assert half.steps == full.steps == 8

    progress: list[tuple[int, int]] = []
    stopped = run(runner, half, JobControl(lambda done, total: progress.append((done, total))))
    assert len(unet_spy.calls) == 4  # half of the 8 steps
    assert progress == [(1, 4), (2, 4), (3, 4), (4, 4)]
    unet_spy.calls.clear()
    finished = run(runner, full)
    assert len(unet_spy.calls) == 8
    assert all(
        np.abs(pixels(a) - pixels(b)).mean() > 1 for a, b in zip(stopped, finished, strict=True)
    )


async def test_tile_pads_circularly_during_the_job_only(
    planner: JobPlanner, runner: JobRunner, unet_spy: UNetSpy
) -> None:
    spec = await plan_one(planner, "a tiled floor --tile --seed 3")
    assert spec.tile is True
    run(runner, spec)
    assert unet_spy.calls and all(call.circular for call in unet_spy.calls)
    convolutions = runner._worker.submit(
        lambda: tiling_convolutions(runner.models.pipeline("tiny"))
    ).result()
    assert convolutions and {conv.padding_mode for conv in convolutions} == {"zeros"}
    unet_spy.calls.clear()
    run(runner, await plan_one(planner, "a floor --seed 3"))
    assert not any(call.circular for call in unet_spy.calls)


@pytest.fixture(scope="module")
def own_pipeline(settings: Settings) -> Iterator[object]:
    """The tiny pipeline on this thread, with a deterministic scheduler."""
    registry = ModelRegistry(settings)
    registry.claim_thread()
    pipeline = registry.pipeline("tiny")
    pipeline.scheduler = EulerDiscreteScheduler.from_config(pipeline.scheduler.config)
    yield pipeline


def test_a_tiled_image_continues_across_its_left_and_right_edges(own_pipeline: Any) -> None:
    """With circular padding the whole model is shift-equivariant: starting noise rolled by 2
    latent columns gives the same image rolled by 16 pixels. So the seam between the right and
    the left edge is painted exactly like any neighbouring columns inside the image."""
    noise = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(5))

    def render(latents: torch.Tensor, tile: bool) -> np.ndarray:
        with seamless(own_pipeline, enabled=tile):
            out = own_pipeline(
                prompt="a brick wall",
                latents=latents,
                num_inference_steps=4,
                width=128,
                height=128,
                output_type="np",
            )
        return np.asarray(out.images[0])

    tiled = render(noise, True)
    shifted = render(torch.roll(noise, 2, dims=3), True)
    assert np.abs(np.roll(tiled, 16, axis=1) - shifted).max() < 1e-3
    # the tile's right edge next to its left edge is an inner column pair of the shifted run
    seam = np.abs(tiled[:, -1] - tiled[:, 0])
    inner = np.abs(shifted[:, 15] - shifted[:, 16])
    assert np.allclose(seam, inner, atol=1e-3)
    # Without --tile the model is not equivariant: this test can fail.
    plain = render(noise, False)
    plain_shifted = render(torch.roll(noise, 2, dims=3), False)
    assert np.abs(np.roll(plain, 16, axis=1) - plain_shifted).max() > 0.05


async def test_multi_prompts_blend_the_embeddings_by_weight(
    planner: JobPlanner, runner: JobRunner, unet_spy: UNetSpy
) -> None:
    spec = await plan_one(planner, "a red cat::2 a blue dog::-0.5 --seed 8")
    assert spec.blend == (
        PromptPart(text="a red cat", weight=2.0),
        PromptPart(text="a blue dog", weight=-0.5),
    )
    run(runner, spec)

    def encode() -> torch.Tensor:
        pipeline = runner.models.pipeline("tiny")
        embeds, _ = pipeline.encode_prompt(["a red cat", "a blue dog"], "cpu", 1, False)
        return embeds

    cat, dog = runner._worker.submit(encode).result()
    expected = (2.0 * cat - 0.5 * dog) / 1.5
    for step in range(spec.steps):
        conditional = unet_spy.conditional(step)
        assert all(torch.allclose(conditional[k], expected, atol=1e-5) for k in range(4))
    # a single prompt is encoded as plain text, as before
    single = await plan_one(planner, "a red cat --seed 8")
    assert single.blend == ()


async def test_draft_renders_fewer_steps_on_smaller_latents(
    planner: JobPlanner, runner: JobRunner, unet_spy: UNetSpy
) -> None:
    full = await plan_one(planner, "a fox --seed 2")
    draft = await plan_one(planner, "a fox --seed 2 --draft")
    assert (draft.steps, draft.width, draft.height) == (2, 64, 64)
    assert (full.steps, full.width, full.height) == (4, 128, 128)
    run(runner, draft)
    assert [tuple(call.latents.shape[-2:]) for call in unet_spy.calls] == [(8, 8)] * 2
    unet_spy.calls.clear()
    run(runner, full)
    assert [tuple(call.latents.shape[-2:]) for call in unet_spy.calls] == [(16, 16)] * 4
