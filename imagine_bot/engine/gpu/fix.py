"""Fix Faces and ``--fix faces|hands``: an ADetailer-style pass over finished images.

Each region the detector finds is cropped with a margin of context, enlarged to the model's
own resolution (where it draws faces best; a small face in a large picture is a few latent
pixels otherwise), repainted there by the inpainting pipeline at ``[fix] strength`` with the
job's prompt (and ``[fix] prompt``), scaled back and pasted with a feathered edge: outside
the region grown by ``[fix] feather`` pixels every pixel is the image's own.
"""

from __future__ import annotations

from PIL import Image

from imagine_bot.config.fix import FixSettings
from imagine_bot.engine.control import JobControl
from imagine_bot.engine.errors import NothingToFix
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.engine.gpu.sampling import run_pipeline
from imagine_bot.engine.images.detail import Box, crop_size, feathered_weight
from imagine_bot.engine.images.outpaint import composite
from imagine_bot.engine.spec import GenerationSpec


def fix_regions(
    images: list[Image.Image], spec: GenerationSpec, models: ModelRegistry, control: JobControl
) -> list[Image.Image]:
    """``images`` (one per seed) with every region ``spec.fix`` names repainted.

    Fix Faces on one picture with none fails with ``NothingToFix`` (refunded); an image of a
    ``--fix`` grid with none is left as it is, with a warning.
    """
    assert spec.fix is not None
    settings = models.settings.fix
    detect = models.detector(spec.fix)
    found = [detect(image) for image in images]
    if not any(found):
        if spec.kind == "fix":
            raise NothingToFix(spec.fix)
        control.warn(f"--fix found no {spec.fix} in these images, so they are as generated.")
        return images
    strength = spec.strength if spec.strength is not None else settings.strength
    region_spec = repaint_spec(spec, settings)
    per_region = max(1, int(spec.steps * strength))
    total = per_region * sum(len(boxes) for boxes in found)
    done = 0
    fixed = []
    for image, boxes, seed in zip(images, found, spec.seeds, strict=True):
        for box in boxes:
            one = region_spec.model_copy(update={"seeds": (seed,)})
            image = repaint(image, box, one, strength, models, control.stage(done, total))
            done += per_region
        fixed.append(image)
    return fixed


def repaint_spec(spec: GenerationSpec, settings: FixSettings) -> GenerationSpec:
    """The spec a region is repainted with: the job's prompt plus ``[fix] prompt``, run to
    the end (``--stop`` is for the whole picture), one image, no second HD or fix pass."""
    update: dict[str, object] = {"stop": 100, "hd": None, "fix": None, "tile": False}
    if settings.prompt:
        update |= {"prompt": f"{spec.prompt}, {settings.prompt}", "blend": ()}
    return spec.model_copy(update=update)


def repaint(
    image: Image.Image,
    box: Box,
    spec: GenerationSpec,
    strength: float,
    models: ModelRegistry,
    control: JobControl,
) -> Image.Image:
    """``image`` with ``box`` repainted at the model's resolution and pasted back feathered."""
    settings = models.settings.fix
    feather = settings.feather
    margin = max(feather, round(settings.margin * max(box.width, box.height)))
    crop = box.grown(margin, image.size)
    width, height = crop_size(crop, models.presets[spec.model].pixel_area)
    # The region and its feathered band, in the crop's own pixels, then at the repaint size.
    weight = feathered_weight(
        Box(box.left - crop.left, box.top - crop.top, box.right - crop.left, box.bottom - crop.top),
        (crop.width, crop.height),
        feather,
    )
    mask = Image.fromarray((weight > 0).astype("uint8") * 255, "L")
    mask = mask.resize((width, height), Image.Resampling.NEAREST)
    patch = image.crop(crop.as_tuple()).resize((width, height), Image.Resampling.LANCZOS)
    (painted,) = run_pipeline(
        models.variant(spec.model, "inpaint"),
        spec.model_copy(update={"width": width, "height": height}),
        models,
        control,
        image=[patch],
        mask_image=[mask],
        width=width,
        height=height,
        strength=strength,
    )
    pasted = image.copy()
    pasted.paste(
        painted.resize((crop.width, crop.height), Image.Resampling.LANCZOS), (crop.left, crop.top)
    )
    return composite(pasted, image, 1.0 - feathered_weight(box, image.size, feather))
