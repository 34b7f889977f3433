"""What the built-in generate stage runs for each kind of spec (``GenerationSpec.kind``)."""

from __future__ import annotations

import inspect

import numpy as np
from PIL import Image, ImageOps

from imagine_bot.engine.control import JobCancelled, JobControl
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.engine.gpu.sampling import run_pipeline
from imagine_bot.engine.images.outpaint import composite, feather_band, prepare
from imagine_bot.engine.images.region import prepare_region
from imagine_bot.engine.spec import GenerationSpec


def generate(spec: GenerationSpec, models: ModelRegistry, control: JobControl) -> list[Image.Image]:
    """One image per seed of ``spec``."""
    if spec.source is None:
        pipeline = models.pipeline(spec.model)
        return run_pipeline(pipeline, spec, models, control, width=spec.width, height=spec.height)
    source = models.store.open(spec.source.sha256)
    if spec.upscale is not None:
        return upscale(source, spec, models, control)
    if spec.mask is not None:
        return vary_region(source, spec, models, control)
    if spec.placement is not None:
        return outpaint(source, spec, models, control)
    return image_to_image(source, spec, models, control)


def image_to_image(
    source: Image.Image, spec: GenerationSpec, models: ModelRegistry, control: JobControl
) -> list[Image.Image]:
    """Variations of ``source``: noised to ``spec.strength`` of the schedule, then denoised."""
    # Cropped to the spec's ratio, not stretched: a Remix may have changed --ar.
    image = ImageOps.fit(source.convert("RGB"), (spec.width, spec.height), Image.Resampling.LANCZOS)
    if models.family(spec.model).image_to_image is None:
        # The same noising and denoising, as inpainting under a mask over everything.
        whole = Image.new("L", image.size, 255)
        return inpaint(image, whole, np.zeros((spec.height, spec.width)), spec, models, control)
    pipeline = models.variant(spec.model, "img2img")
    # SD's image-to-image works at the image's size; FLUX.1's and others' at their own default
    # (1024 px) unless told the size.
    takes_size = "width" in inspect.signature(pipeline.__call__).parameters
    size = {"width": spec.width, "height": spec.height} if takes_size else {}
    return run_pipeline(
        pipeline,
        spec,
        models,
        control,
        image=[image] * len(spec.seeds),
        strength=spec.strength if spec.strength is not None else 1.0,
        **size,
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


def fit(image: Image.Image, width: int, height: int) -> Image.Image:
    """``image`` in RGB at exactly ``width`` x ``height``."""
    image = image.convert("RGB")
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    return image
