"""One diffusers pipeline call for a spec, with everything that happens between its steps.

Shared by every diffusion kind of job (text-to-image, image-to-image, inpainting): a fresh
scheduler, the text conditioning (``::`` blends, ``--chaos``), ``--tile``, and a
``callback_on_step_end`` that reports progress, sends previews, anneals the chaos noise, stops
early for ``--stop`` and interrupts a cancelled job.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any

import torch
from diffusers import DiffusionPipeline
from PIL import Image

from imagine_bot.engine.control import JobCancelled, JobControl
from imagine_bot.engine.gpu.conditioning import TextConditioning, text_conditioning
from imagine_bot.engine.gpu.previews import LatentFormat, latent_format, preview_image
from imagine_bot.engine.gpu.seamless import seamless
from imagine_bot.engine.spec import GenerationSpec

if TYPE_CHECKING:
    from diffusers.schedulers.scheduling_utils import SchedulerMixin

    from imagine_bot.engine.gpu.models import ModelRegistry


def run_pipeline(
    pipeline: DiffusionPipeline,
    spec: GenerationSpec,
    models: ModelRegistry,
    control: JobControl,
    **inputs: Any,
) -> list[Image.Image]:
    """Run ``pipeline`` for ``spec``'s seeds; ``inputs`` are the kind-specific arguments
    (size, source image, mask, strength)."""
    pipeline.scheduler = models.fresh_scheduler(pipeline, spec.scheduler)
    # From an image, diffusers runs int(steps x strength) steps: at least one, or it fails.
    steps = max(spec.steps, math.ceil(1 / inputs.get("strength", 1.0)))
    text = text_conditioning(pipeline, spec, control.warn)
    hooks = StepHooks(spec, control, text, latent_format(pipeline))
    hooks.tap(pipeline.scheduler)
    with (
        seamless(pipeline, enabled=spec.tile),
        models.image_prompts(pipeline, spec) as reference_inputs,
    ):
        images = pipeline(
            **text.inputs,
            num_inference_steps=steps,
            guidance_scale=spec.guidance,
            generator=seed_generators(spec.seeds),
            callback_on_step_end=hooks,
            callback_on_step_end_tensor_inputs=hooks.tensor_inputs,
            **reference_inputs,
            **inputs,
        ).images
    if control.cancelled:
        raise JobCancelled
    return list(images)


def seed_generators(seeds: tuple[int, ...]) -> list[torch.Generator]:
    """One CPU generator per image: the noise of image k depends only on seeds[k], on any
    device, so one image of a grid can be regenerated alone."""
    return [torch.Generator("cpu").manual_seed(seed) for seed in seeds]


def steps_to_run(total: int, stop: int) -> int:
    """How many of ``total`` sampling steps ``--stop stop`` (a percentage) runs."""
    return max(1, min(total, math.ceil(total * stop / 100)))


class StepHooks:
    """The ``callback_on_step_end`` of one job.

    After each step it reports progress, sends a preview when one is due, anneals the
    ``--chaos`` noise of the prompt embeddings for the next step, and interrupts the pipeline
    when the job is cancelled or ``--stop`` is reached. At the stop it swaps the latents for
    the scheduler's estimate of the finished image (its ``x0`` prediction), so what the
    pipeline decodes is the image as far as it got rather than the noise still on it.
    """

    def __init__(
        self,
        spec: GenerationSpec,
        control: JobControl,
        text: TextConditioning,
        fmt: LatentFormat | None,
    ) -> None:
        self.spec = spec
        self.control = control
        self.text = text
        self.format = fmt
        self.estimate: torch.Tensor | None = None
        """The scheduler's latest prediction of the clean latents (``x0``), when it gives one."""
        self.tensor_inputs = ["latents"]
        if text.noise is not None:
            self.tensor_inputs.append("prompt_embeds")

    def tap(self, scheduler: SchedulerMixin) -> None:
        """Catch ``scheduler``'s ``x0`` predictions as it makes them (a fresh scheduler per job,
        so wrapping its methods affects this job only)."""
        convert = getattr(scheduler, "convert_model_output", None)
        predicts_x0 = getattr(scheduler.config, "algorithm_type", "dpmsolver++") in (
            "dpmsolver++",
            "sde-dpmsolver++",
        ) and getattr(scheduler.config, "predict_x0", True)
        if convert is not None and predicts_x0:
            # Multistep solvers (DPM++, UniPC) turn the model output into x0 here.
            @functools.wraps(convert)
            def converted(*args: Any, **kwargs: Any) -> Any:
                out = convert(*args, **kwargs)
                self.estimate = out
                return out

            scheduler.convert_model_output = converted
            return
        step = scheduler.step

        # wraps() keeps step's signature visible: pipelines pass the generators to an
        # ancestral scheduler only if its step() names a generator parameter.
        @functools.wraps(step)
        def stepped(*args: Any, **kwargs: Any) -> Any:
            out = step(*args, **kwargs)
            # Euler, Euler a, DDIM and others return (prev_sample, pred_original_sample).
            predicted = out[1] if isinstance(out, tuple) and len(out) > 1 else None
            if predicted is None:
                predicted = getattr(out, "pred_original_sample", None)
            self.estimate = predicted if isinstance(predicted, torch.Tensor) else None
            return out

        scheduler.step = stepped

    def __call__(
        self, pipeline: DiffusionPipeline, step: int, timestep: Any, tensors: dict[str, Any]
    ) -> dict[str, Any]:
        scheduled = pipeline.num_timesteps
        last = steps_to_run(scheduled, self.spec.stop)
        done = step + 1
        if done > last:  # only while the pipeline winds down after an interrupt
            return tensors
        fmt, current = self.format, self.estimate
        if current is None:
            current = tensors["latents"]
        self.control.step(done, last, None if fmt is None else lambda: preview_image(current, fmt))
        if "prompt_embeds" in tensors:
            tensors["prompt_embeds"] = self._anneal(
                pipeline, tensors["prompt_embeds"], done / scheduled
            )
        if done == last < scheduled:
            pipeline._interrupt = True  # diffusers skips the remaining steps, then decodes
            if self.estimate is not None and self.estimate.shape == tensors["latents"].shape:
                tensors["latents"] = self.estimate
        if self.control.cancelled:
            pipeline._interrupt = True
        return tensors

    def _anneal(
        self, pipeline: DiffusionPipeline, embeds: torch.Tensor, progress: float
    ) -> torch.Tensor:
        """The prompt embeddings for the next step: the conditional half gets less noise."""
        conditional = self.text.noisy(progress).to(embeds.dtype)
        if not getattr(pipeline, "do_classifier_free_guidance", False):
            return conditional
        unconditional = embeds[: embeds.shape[0] - conditional.shape[0]]
        return torch.cat([unconditional, conditional])
