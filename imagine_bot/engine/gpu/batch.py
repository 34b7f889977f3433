"""Several jobs in one pipeline call: their images side by side in one batch, each job with
its own prompt, seeds, progress, previews and cancel.

Only jobs with the same ``GenerationSpec.batch_key`` are merged: plain-text txt2img sharing
model, size, steps, scheduler, guidance, ``--stop`` and ``--tile``, without LoRAs. Each job's
text is encoded as it would be alone and every image keeps its own generator, so it comes out
as it would alone (up to the float rounding of a larger batch).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
from PIL import Image

from imagine_bot.engine.control import JobControl
from imagine_bot.engine.gpu.conditioning import TextConditioning, text_conditioning
from imagine_bot.engine.gpu.families import Family
from imagine_bot.engine.gpu.previews import preview_image
from imagine_bot.engine.gpu.sampling import StepHooks, call_pipeline, run_pipeline
from imagine_bot.engine.spec import GenerationSpec

if TYPE_CHECKING:
    from imagine_bot.engine.gpu.models import ModelRegistry


def generate_batch(
    specs: Sequence[GenerationSpec], models: ModelRegistry, controls: Sequence[JobControl]
) -> list[list[Image.Image]]:
    """Each spec's images, from one pipeline call. A cancelled job's images are made anyway
    (the others need the call); the call stops early only when every job is cancelled."""
    keys = {spec.batch_key for spec in specs}
    if None in keys or len(keys) != 1:
        raise ValueError("these jobs cannot share a pipeline call")
    first = specs[0]
    merged = first.model_copy(update={"seeds": tuple(s for spec in specs for s in spec.seeds)})
    rows, start = [], 0
    for spec in specs:
        rows.append(slice(start, start + len(spec.seeds)))
        start += len(spec.seeds)
    pipeline = models.pipeline(first.model)
    family = models.family(first.model)
    pipeline.scheduler = models.fresh_scheduler(pipeline, first.scheduler)
    texts = [
        text_conditioning(pipeline, family, spec, control.warn)
        for spec, control in zip(specs, controls, strict=True)
    ]
    text = _merged(texts)
    if text is None:  # prompts past 77 tokens encode to other lengths: one call each
        return [
            run_pipeline(pipeline, spec, models, control, width=spec.width, height=spec.height)
            for spec, control in zip(specs, controls, strict=True)
        ]
    hooks = BatchHooks(merged, controls, rows, text, family)
    images = call_pipeline(
        pipeline, merged, models, text, hooks, width=first.width, height=first.height
    )
    return [images[part] for part in rows]


def _merged(texts: Sequence[TextConditioning]) -> TextConditioning | None:
    """The jobs' text inputs stacked image by image; None when their shapes differ."""
    names = set(texts[0].inputs)
    if any(set(text.inputs) != names for text in texts):
        return None
    inputs: dict[str, Any] = {}
    for name in names:
        values = [text.inputs[name] for text in texts]
        if isinstance(values[0], list):
            inputs[name] = [item for value in values for item in value]
        elif len({tuple(value.shape[1:]) for value in values}) == 1:
            inputs[name] = torch.cat(values)
        else:
            return None
    return TextConditioning(inputs)


class BatchHooks(StepHooks):
    """``StepHooks`` that report to every job of the batch, each about its own images."""

    def __init__(
        self,
        merged: GenerationSpec,
        controls: Sequence[JobControl],
        rows: Sequence[slice],
        text: TextConditioning,
        family: Family,
    ) -> None:
        super().__init__(merged, controls[0], text, family)
        self.controls = controls
        self.rows = rows

    def report(self, done: int, total: int, latents: torch.Tensor) -> None:
        fmt, size = self.format, (self.spec.width, self.spec.height)
        for control, part in zip(self.controls, self.rows, strict=True):
            if control.cancelled:
                continue
            preview = (
                None if fmt is None else functools.partial(preview_image, latents[part], fmt, size)
            )
            control.step(done, total, preview)

    @property
    def cancelled(self) -> bool:
        return all(control.cancelled for control in self.controls)
