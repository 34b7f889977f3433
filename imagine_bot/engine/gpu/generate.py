"""What the built-in generate stage runs for each kind of spec (``GenerationSpec.kind``)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from imagine_bot.engine.control import JobCancelled, JobControl
from imagine_bot.engine.gpu.fix import fix_regions
from imagine_bot.engine.gpu.hd import render_hd
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.engine.gpu.outpaint import composite, feather_band, prepare
from imagine_bot.engine.gpu.region import prepare_region
from imagine_bot.engine.gpu.sampling import run_pipeline
from imagine_bot.engine.images.geometry import fit
from imagine_bot.engine.spec import GenerationSpec


def generate(spec: GenerationSpec, models: ModelRegistry, control: JobControl) -> list[Image.Image]:
    """One image per seed of ``spec``."""
    if spec.source is None:
        images = text_to_image(spec, models, control)
        return images if spec.fix is None else fix_regions(images, spec, models, control)
    source = models.store.open(spec.source.sha256)
    if spec.kind == "fix":
        return fix_regions([fit(source, spec.width, spec.height)], spec, models, control)
    if spec.upscale is not None:
        return upscale(source, spec, models, control)
    if spec.mask is not None:
        return vary_region(source, spec, models, control)
    if spec.placement is not None:
        return outpaint(source, spec, models, control)
    return image_to_image(source, spec, models, control)


def text_to_image(
    spec: GenerationSpec, models: ModelRegistry, control: JobControl
) -> list[Image.Image]:
    """The prompt's images; with ``--hd`` at half the size first, then the HD pass."""
    if spec.hd is not None:
        return render_hd(spec, models, control)
    pipeline = models.pipeline(spec.model)
    return run_pipeline(pipeline, spec, models, control, width=spec.width, height=spec.height)


def image_to_image(
    source: Image.Image, spec: GenerationSpec, models: ModelRegistry, control: JobControl
) -> list[Image.Image]:
    """Variations of ``source``: noised to ``spec.strength`` of the schedule, then denoised.
    Rerun as HD is one too: ``source`` at twice its side, at the HD strength."""
    pipeline = models.variant(spec.model, "img2img")
    image = fit(source, spec.width, spec.height)
    return run_pipeline(
        pipeline,
        spec,
        models,
        control,
        image=[image] * len(spec.seeds),
        strength=spec.strength if spec.strength is not None else 1.0,
    )


def outpaint(
    source: Image.Image, spec: GenerationSpec, models: ModelRegistry, control: JobControl
) -> list[Image.Image]:
    """New canvas around ``source`` (zoom, make square, pan), with the inpaint variant."""
    assert spec.placement is not None
    canvas, mask, keep = prepare(source, spec.placement, spec.width, spec.height)
    return inpaint(canvas, mask, keep, spec, models, control)


def vary_region(
    source: Image.Image, spec: GenerationSpec, models: ModelRegistry, control: JobControl
) -> list[Image.Image]:
    """``source`` with the region of ``spec.mask`` repainted; every pixel outside the region
    is the source's."""
    assert spec.mask is not None
    image = fit(source, spec.width, spec.height)
    band = feather_band(models.settings.actions.feather, spec.width, spec.height)
    mask, keep = prepare_region(models.store.open(spec.mask.sha256), spec.width, spec.height, band)
    return inpaint(image, mask, keep, spec, models, control)


def inpaint(
    canvas: Image.Image,
    mask: Image.Image,
    keep: np.ndarray,
    spec: GenerationSpec,
    models: ModelRegistry,
    control: JobControl,
) -> list[Image.Image]:
    """The inpaint variant repaints ``mask`` (white) of ``canvas``; then the pixels of
    ``canvas`` are put back where ``keep`` says."""
    count = len(spec.seeds)
    images = run_pipeline(
        models.variant(spec.model, "inpaint"),
        spec,
        models,
        control,
        image=[canvas] * count,
        mask_image=[mask] * count,
        width=spec.width,
        height=spec.height,
        strength=spec.strength if spec.strength is not None else 1.0,
    )
    return [composite(image, canvas, keep) for image in images]


def upscale(
    source: Image.Image, spec: GenerationSpec, models: ModelRegistry, control: JobControl
) -> list[Image.Image]:
    """Real-ESRGAN (or Lanczos, with a warning); with a ``strength``, then an img2img pass at
    the new size (Upscale (Creative))."""
    assert spec.upscale is not None
    if control.cancelled:
        raise JobCancelled
    enlarged, warning = models.upscaler().upscale(source, spec.upscale)
    if warning:
        control.warn(warning)
    if spec.strength is None:
        control.report(1, 1)
        return [fit(enlarged, spec.width, spec.height)] * len(spec.seeds)
    return image_to_image(enlarged, spec, models, control)
