"""What the built-in generate stage runs for each kind of spec (``GenerationSpec.kind``).

HD (``--hd``, A1111's "hires fix") is two passes of one job: the prompt at half the job's
size, then each image enlarged 2x (Lanczos) and repainted by image-to-image at ``spec.hd``'s
low strength, which sharpens what the enlargement blurred without changing the composition.
Rerun as HD is that second pass alone, from the chosen image. The VAE encodes and decodes the
large image in tiles above ``engine.vae_tile_above`` (``acceleration.install_vae_policy``).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps

from imagine_bot.engine.control import JobCancelled, JobControl
from imagine_bot.engine.gpu.edit import edit_images
from imagine_bot.engine.gpu.fix import fix_regions
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.engine.gpu.sampling import run_pipeline
from imagine_bot.engine.gpu.structure import retexture
from imagine_bot.engine.images.geometry import fit
from imagine_bot.engine.images.outpaint import composite, feather_band, prepare
from imagine_bot.engine.images.region import prepare_region
from imagine_bot.engine.spec import HD_FACTOR, GenerationSpec, steps_to_run


def generate(spec: GenerationSpec, models: ModelRegistry, control: JobControl) -> list[Image.Image]:
    """One image per seed of ``spec``."""
    if spec.source is None:
        images = text_to_image(spec, models, control)
        return images if spec.fix is None else fix_regions(images, spec, models, control)
    source = models.store.open(spec.source.sha256)
    if spec.kind == "edit":
        return edit_images(source, spec, models, control)
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
    if spec.hd is None and spec.structure is not None:
        return retexture(spec, models, control)
    if spec.hd is None:
        pipeline = models.pipeline(spec.model)
        return run_pipeline(pipeline, spec, models, control, width=spec.width, height=spec.height)
    first = spec.model_copy(
        update={"width": spec.width // HD_FACTOR, "height": spec.height // HD_FACTOR, "hd": None}
    )
    total = spec.steps_run
    images = text_to_image(first, models, control.stage(0, total))
    # --stop ends the first pass early; the HD pass always finishes.
    second = spec.model_copy(update={"stop": 100, "strength": spec.hd})
    done = steps_to_run(first.steps, first.stop)
    return image_to_image(images, second, models, control.stage(done, total))


def image_to_image(
    sources: Image.Image | list[Image.Image],
    spec: GenerationSpec,
    models: ModelRegistry,
    control: JobControl,
) -> list[Image.Image]:
    """Variations of ``sources`` (one, or one per seed): noised to ``spec.strength`` of the
    schedule, then denoised."""
    listed = sources if isinstance(sources, list) else [sources] * len(spec.seeds)
    # Cropped to the spec's ratio, not stretched: a Remix may have changed --ar.
    size = (spec.width, spec.height)
    images = [
        ImageOps.fit(source.convert("RGB"), size, Image.Resampling.LANCZOS) for source in listed
    ]
    if models.family(spec.model).image_to_image is None:
        # The same noising and denoising, as inpainting under a mask over everything.
        whole = Image.new("L", images[0].size, 255)
        return inpaint(images, whole, np.zeros((spec.height, spec.width)), spec, models, control)
    pipeline = models.variant(spec.model, "img2img")
    return run_pipeline(
        pipeline,
        spec,
        models,
        control,
        image=images,
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
    canvas: Image.Image | list[Image.Image],
    mask: Image.Image,
    keep: np.ndarray,
    spec: GenerationSpec,
    models: ModelRegistry,
    control: JobControl,
) -> list[Image.Image]:
    """The inpaint variant repaints ``mask`` (white) of ``canvas`` (one, or one per seed);
    then the pixels of the canvas are put back where ``keep`` says."""
    count = len(spec.seeds)
    canvases = canvas if isinstance(canvas, list) else [canvas] * count
    images = run_pipeline(
        models.variant(spec.model, "inpaint"),
        spec,
        models,
        control,
        image=canvases,
        mask_image=[mask] * count,
        width=spec.width,
        height=spec.height,
        strength=spec.strength if spec.strength is not None else 1.0,
    )
    return [composite(image, kept, keep) for image, kept in zip(images, canvases, strict=True)]


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
