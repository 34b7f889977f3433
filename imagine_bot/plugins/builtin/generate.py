"""The generate stage: the spec's kind picks the pipeline (see ``engine/gpu/generate.py``).

txt2img (a prompt), img2img (vary, enhance), inpaint (zoom, make square, pan) and upscale
(Real-ESRGAN, then img2img for Upscale (Creative)); the four images of a grid in one batched
call with one generator per seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from imagine_bot.engine.control import JobControl
from imagine_bot.engine.spec import GenerationSpec
from imagine_bot.plugins import hookimpl

if TYPE_CHECKING:
    from PIL import Image

    from imagine_bot.engine.gpu.models import ModelRegistry


@hookimpl(trylast=True)
def imagine_generate(
    spec: GenerationSpec, models: ModelRegistry, control: JobControl
) -> list[Image.Image]:
    # Imported here, not at the top: commands that only parse prompts never load torch.
    from imagine_bot.engine.gpu.generate import generate

    return generate(spec, models, control)


@hookimpl(trylast=True)
def imagine_generate_batch(
    specs: Sequence[GenerationSpec], models: ModelRegistry, controls: Sequence[JobControl]
) -> list[list[Image.Image]]:
    from imagine_bot.engine.gpu.batch import generate_batch

    return generate_batch(specs, models, controls)
