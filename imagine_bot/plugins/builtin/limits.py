"""Refuse sizes the engine cannot render or that would exhaust its memory."""

from imagine_bot.config import Settings
from imagine_bot.engine.errors import UserError
from imagine_bot.engine.spec import GenerationSpec
from imagine_bot.plugins import hookimpl

SIZE_MULTIPLE = 8
"""Latents are an eighth of the image size: other sizes cannot be decoded exactly."""


@hookimpl(trylast=True)
def imagine_validate(spec: GenerationSpec, settings: Settings) -> None:
    if spec.kind == "fix" or (spec.kind == "upscale" and spec.strength is None):
        # No diffusion at this size: the upscaler, or Fix Faces, which repaints crops at the
        # model's size; the upscaler's limit is what an image on this server may be.
        if spec.width * spec.height > settings.upscale.max_pixels:
            raise UserError(
                f"An image of {spec.width}x{spec.height} would be larger than this "
                f"server allows ({settings.upscale.max_pixels:,} pixels)."
            )
        return
    if spec.width % SIZE_MULTIPLE or spec.height % SIZE_MULTIPLE:
        raise UserError(
            f"{spec.width}x{spec.height} cannot be rendered: "
            f"width and height must be multiples of {SIZE_MULTIPLE}."
        )
    if spec.width * spec.height > settings.engine.max_pixels:
        raise UserError(
            f"{spec.width}x{spec.height} is larger than this server allows "
            f"({settings.engine.max_pixels:,} pixels)."
        )
