"""One diffusers pipeline call for a spec, with everything that happens between its steps.

Shared by every diffusion kind of job (text-to-image, image-to-image, inpainting): a fresh
scheduler, the job's LoRAs, the text conditioning (``::`` blends, long prompts, ``--chaos``),
``--tile``, and a ``callback_on_step_end`` that reports progress, sends previews, anneals the
chaos noise, stops early for ``--stop`` and interrupts a cancelled job.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
from diffusers import DiffusionPipeline
from PIL import Image

from imagine_bot.engine.control import JobCancelled, JobControl
from imagine_bot.engine.gpu.conditioning import TextConditioning, text_conditioning
from imagine_bot.engine.gpu.families import Family
from imagine_bot.engine.gpu.families.family import LatentFormat
from imagine_bot.engine.gpu.loras import applied_loras
from imagine_bot.engine.gpu.previews import preview_image
from imagine_bot.engine.gpu.seamless import seamless
from imagine_bot.engine.gpu.soundness import BlankImages, blank, vae_in_float32
from imagine_bot.engine.gpu.step_cache import StepCache, applied_step_cache, choose_step_cache
from imagine_bot.engine.spec import GenerationSpec, steps_to_run

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
    family = models.family(spec.model)
    if not family.runs_sampler(spec.scheduler):
        control.warn(
            f"{family.title} models sample only with their own flow-matching scheduler, so "
            f"the sampler {spec.scheduler!r} was not used."
        )
    pipeline.scheduler = models.fresh_scheduler(pipeline, spec.scheduler)
    with applied_loras(pipeline, spec, models.settings.loras):
        # Inside the LoRAs: those with text-encoder weights change the conditioning too.
        text = text_conditioning(pipeline, family, spec, control.warn)
        hooks = StepHooks(spec, control, text, family)
        images = call_pipeline(pipeline, spec, models, text, hooks, **inputs)
    if control.cancelled:
        raise JobCancelled
    return images


def call_pipeline(
    pipeline: DiffusionPipeline,
    spec: GenerationSpec,
    models: ModelRegistry,
    text: TextConditioning,
    hooks: StepHooks,
    **inputs: Any,
) -> list[Image.Image]:
    """The pipeline call itself, with its scheduler (already fresh), text and step hooks.

    The transformer runs with the job's step cache, if any (``step_cache.choose_step_cache``),
    attached for each pipeline call only. Images that come back black (NaN latents turn black
    when converted: an fp16 VAE that overflowed, a broken checkpoint) are made once more with
    the VAE in float32; black again, the job fails with ``BlankImages`` rather than deliver
    them.
    """
    cache = choose_step_cache(models.settings.engine, models.device, hooks.family, spec, hooks.warn)
    if cache is not None:
        for control in hooks.controls:
            control.note("Step cache", str(cache))
    return _checked_call(pipeline, spec, models, text, hooks, cache, **inputs)


def _checked_call(
    pipeline: DiffusionPipeline,
    spec: GenerationSpec,
    models: ModelRegistry,
    text: TextConditioning,
    hooks: StepHooks,
    cache: StepCache | None,
    **inputs: Any,
) -> list[Image.Image]:
    images = _call(pipeline, spec, models, text, hooks, cache, **inputs)
    if not blank(images):
        return images
    scheduler = pipeline.scheduler
    with vae_in_float32(pipeline) as upcast:
        if upcast:
            hooks.control.warn(
                "The first images came out black, so they were made again with the VAE in "
                "full precision."
            )
            pipeline.scheduler = type(scheduler).from_config(scheduler.config)
            images = _call(pipeline, spec, models, text, hooks, cache, **inputs)
    if blank(images):
        raise BlankImages(spec.model, retried_in_float32=upcast)
    return images


def _call(
    pipeline: DiffusionPipeline,
    spec: GenerationSpec,
    models: ModelRegistry,
    text: TextConditioning,
    hooks: StepHooks,
    cache: StepCache | None,
    **inputs: Any,
) -> list[Image.Image]:
    hooks.tap(pipeline.scheduler)
    # From an image, diffusers runs int(steps x strength) steps: at least one, or it fails.
    steps = max(spec.steps, math.ceil(1 / inputs.get("strength", 1.0)))
    with (
        applied_step_cache(pipeline, cache),
        seamless(pipeline, enabled=spec.tile),
        models.image_prompts(pipeline, spec) as reference_inputs,
    ):
        images = pipeline(
            **text.inputs,
            **hooks.family.guidance_inputs(pipeline, spec.guidance),
            num_inference_steps=steps,
            generator=seed_generators(spec.seeds),
            callback_on_step_end=hooks,
            callback_on_step_end_tensor_inputs=hooks.tensor_inputs,
            **reference_inputs,
            **inputs,
        ).images
    return list(images)


def seed_generators(seeds: tuple[int, ...]) -> list[torch.Generator]:
    """One CPU generator per image: the noise of image k depends only on seeds[k], on any
    device, so one image of a grid can be regenerated alone."""
    return [torch.Generator("cpu").manual_seed(seed) for seed in seeds]


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
        family: Family,
    ) -> None:
        self.spec = spec
        self.control = control
        self.controls: Sequence[JobControl] = [control]
        """Every job the call makes images for (one, or a batch's)."""
        self.text = text
        self.family = family
        self.format: LatentFormat | None = family.preview
        self.estimate: torch.Tensor | None = None
        """The scheduler's latest prediction of the clean latents (``x0``), when it gives one."""
        self.tensor_inputs = ["latents"]
        if text.noise is not None:
            self.tensor_inputs.append("prompt_embeds")

    def tap(self, scheduler: SchedulerMixin) -> None:
        """Catch ``scheduler``'s ``x0`` predictions as it makes them (a fresh scheduler per job,
        so wrapping its methods affects this job only)."""
        if self.family.estimate == "flow":
            self._tap_flow(scheduler)
            return
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

    def _tap_flow(self, scheduler: SchedulerMixin) -> None:
        """Flow matching moves ``x_t = (1 - sigma) x0 + sigma * noise`` along the model's
        velocity ``v = noise - x0``, so the finished image is ``x0 = x_t - sigma * v``, with
        the sigma of the step just taken."""
        step = scheduler.step

        @functools.wraps(step)
        def stepped(
            model_output: torch.Tensor,
            timestep: Any,
            sample: torch.Tensor,
            *args: Any,
            **kwargs: Any,
        ) -> Any:
            out = step(model_output, timestep, sample, *args, **kwargs)
            sigma = scheduler.sigmas[scheduler.step_index - 1]
            velocity = model_output.to(sample.dtype)
            self.estimate = sample - sigma.to(sample.device, sample.dtype) * velocity
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
        current = self.estimate
        self.report(done, last, tensors["latents"] if current is None else current)
        if "prompt_embeds" in tensors:
            tensors["prompt_embeds"] = self._anneal(
                pipeline, tensors["prompt_embeds"], done / scheduled
            )
        if done == last < scheduled:
            pipeline._interrupt = True  # diffusers skips the remaining steps, then decodes
            if self.estimate is not None and self.estimate.shape == tensors["latents"].shape:
                tensors["latents"] = self.estimate
        if self.cancelled:
            pipeline._interrupt = True
        return tensors

    def report(self, done: int, total: int, latents: torch.Tensor) -> None:
        """Progress, or a preview made from ``latents`` when one is due."""
        fmt, size = self.format, (self.spec.width, self.spec.height)
        preview = None if fmt is None else functools.partial(preview_image, latents, fmt, size)
        self.control.step(done, total, preview)

    @property
    def cancelled(self) -> bool:
        return self.control.cancelled

    def warn(self, message: str) -> None:
        for control in self.controls:
            control.warn(message)

    def _anneal(
        self, pipeline: DiffusionPipeline, embeds: torch.Tensor, progress: float
    ) -> torch.Tensor:
        """The prompt embeddings for the next step: the conditional half gets less noise."""
        conditional = self.text.noisy(progress).to(embeds.dtype)
        if not getattr(pipeline, "do_classifier_free_guidance", False):
            return conditional
        unconditional = embeds[: embeds.shape[0] - conditional.shape[0]]
        return torch.cat([unconditional, conditional])
