"""HD (A1111's "hires fix"): a second pass that repaints an image at twice its side.

From a prompt (``--hd``) the first pass renders at half the job's size; Rerun as HD starts from
a finished image instead. Either way the image is enlarged 2x (Lanczos) and repainted by the
image-to-image pipeline at ``spec.hd``'s low strength, which sharpens what the enlargement
blurred without changing the composition. The VAE encodes and decodes that large image in
tiles above ``engine.vae_tile_above`` (``acceleration.install_vae_policy``).
"""

from __future__ import annotations

from PIL import Image

from imagine_bot.engine.control import JobControl
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.engine.gpu.sampling import run_pipeline
from imagine_bot.engine.images.geometry import fit
from imagine_bot.engine.spec import HD_FACTOR, GenerationSpec, steps_to_run


def render_hd(
    spec: GenerationSpec, models: ModelRegistry, control: JobControl
) -> list[Image.Image]:
    """``spec``'s prompt at half its size, then the HD pass to its full size."""
    first = spec.model_copy(
        update={"width": spec.width // HD_FACTOR, "height": spec.height // HD_FACTOR, "hd": None}
    )
    first_steps = steps_to_run(first.steps, first.stop)
    total = spec.steps_run
    images = run_pipeline(
        models.pipeline(spec.model),
        first,
        models,
        control.stage(0, total),
        width=first.width,
        height=first.height,
    )
    return hd_pass(images, spec, models, control.stage(first_steps, total))


def hd_pass(
    images: list[Image.Image], spec: GenerationSpec, models: ModelRegistry, control: JobControl
) -> list[Image.Image]:
    """Each image enlarged to ``spec``'s size and repainted at strength ``spec.hd``."""
    assert spec.hd is not None
    # --stop ends the first pass early; the HD pass always finishes.
    full = spec.model_copy(update={"stop": 100})
    return run_pipeline(
        models.variant(spec.model, "img2img"),
        full,
        models,
        control,
        image=[fit(image, spec.width, spec.height) for image in images],
        strength=spec.hd,
    )
