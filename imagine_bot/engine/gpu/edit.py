"""Edit with words: the edit pipeline of ``spec.model`` repaints ``source`` as the prompt says.

FLUX.1 Kontext and Qwen-Image-Edit read one picture beside the noise; FLUX.2 and
Qwen-Image-Edit-2509 take a list (the picture, then up to three references). Four seeds give
four edits, one pipeline call.
"""

from __future__ import annotations

from typing import Any

from diffusers import FluxKontextPipeline
from PIL import Image

from imagine_bot.engine.control import JobControl
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.engine.gpu.sampling import run_pipeline
from imagine_bot.engine.images.geometry import fit
from imagine_bot.engine.spec import GenerationSpec


def edit_images(
    source: Image.Image, spec: GenerationSpec, models: ModelRegistry, control: JobControl
) -> list[Image.Image]:
    """One edit of ``source`` (and ``spec.references``) per seed."""
    pipeline = models.variant(spec.model, "edit")
    family = models.family(spec.model)
    picture = fit(source, spec.width, spec.height)
    references = [models.store.open(ref.sha256 or "") for ref in spec.references]
    inputs: dict[str, Any] = {"width": spec.width, "height": spec.height}
    if isinstance(pipeline, family.edit_lists):
        inputs["image"] = [picture, *(image.convert("RGB") for image in references)]
    else:
        inputs["image"] = picture
        if references:
            control.warn(
                f"{type(pipeline).__name__} edits one picture at a time, so the "
                f"{len(references)} other picture(s) were not used."
            )
    if isinstance(pipeline, FluxKontextPipeline):
        # Kontext would resize to its own ~1 MP resolutions (max_area); the spec's size is
        # already the edit preset's.
        inputs |= {"_auto_resize": False, "max_area": spec.width * spec.height}
    # The references are edit inputs here, not IP-Adapter images.
    plain = spec.model_copy(update={"references": (), "reference_scales": {}})
    return run_pipeline(pipeline, plain, models, control, **inputs)
