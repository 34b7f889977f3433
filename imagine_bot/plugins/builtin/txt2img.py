"""Text-to-image: the grid's images in one batched pipeline call, one generator per seed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from imagine_bot.engine.control import JobCancelled, JobControl
from imagine_bot.engine.domain import GenerationSpec
from imagine_bot.plugins import hookimpl

if TYPE_CHECKING:
    import torch
    from diffusers import DiffusionPipeline
    from PIL import Image

    from imagine_bot.engine.models import ModelRegistry


@hookimpl(trylast=True)
def imagine_generate(
    spec: GenerationSpec, models: ModelRegistry, control: JobControl
) -> list[Image.Image]:
    pipeline = models.pipeline(spec.model)
    pipeline.scheduler = models.fresh_scheduler(pipeline, spec.scheduler)
    count = len(spec.seeds)
    with models.image_prompts(pipeline, spec) as image_prompt_inputs:
        images = pipeline(
            prompt=[spec.prompt] * count,
            negative_prompt=[spec.negative_prompt] * count,
            width=spec.width,
            height=spec.height,
            num_inference_steps=spec.steps,
            guidance_scale=spec.guidance,
            generator=seed_generators(spec.seeds),
            callback_on_step_end=step_reporter(control, spec.steps),
            **image_prompt_inputs,
        ).images
    if control.cancelled:
        raise JobCancelled
    return list(images)


def seed_generators(seeds: tuple[int, ...]) -> list[torch.Generator]:
    """One CPU generator per image: the noise of image k depends only on seeds[k], on any
    device, so one image of a grid can be regenerated alone."""
    import torch  # here, not at the top: commands that only parse prompts never load torch

    return [torch.Generator("cpu").manual_seed(seed) for seed in seeds]


def step_reporter(control: JobControl, total: int) -> Any:
    """A ``callback_on_step_end`` that reports progress and interrupts a cancelled job."""

    def on_step_end(
        pipeline: DiffusionPipeline, step: int, timestep: Any, tensors: dict[str, Any]
    ) -> dict[str, Any]:
        control.report(step + 1, total)
        if control.cancelled:
            pipeline._interrupt = True  # diffusers checks this flag before every step
        return tensors

    return on_step_end
