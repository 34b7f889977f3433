"""Region masks for Vary (Region): read, checked and made binary before a job is accepted.

A mask is a PNG image the size of the picture it marks: white (or any light, opaque pixel) is the
region to repaint, black or transparent is kept. Each way a mask can be unusable is a
``MaskError`` whose message tells the member what to do.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

from imagine_bot.engine.errors import UserError
from imagine_bot.engine.images.decode import eight_bit

REGION, KEPT = 255, 0
_LIGHT = 128


class MaskError(UserError):
    """A mask that cannot be used."""


def read_mask(data: bytes, size: tuple[int, int]) -> Image.Image:
    """The mask in ``data`` as a binary ``L`` image (255 = region), checked against the
    ``size`` (width, height) of the image it marks."""
    mask = _decode(data, size)
    region = np.asarray(mask) >= _LIGHT
    if not region.any():
        raise MaskError("The mask is empty: mark the part of the image to change, then submit.")
    if region.all():
        raise MaskError(
            "The mask covers the whole image: leave some of it unmarked, "
            "or use Vary (Strong) to change everything."
        )
    return Image.fromarray(np.where(region, REGION, KEPT).astype(np.uint8), "L")


def _decode(data: bytes, size: tuple[int, int]) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=("PNG",)) as image:
                if image.size != size:
                    raise MaskError(
                        f"The mask is {image.width}x{image.height} pixels but the image is "
                        f"{size[0]}x{size[1]}: draw the mask on the image itself."
                    )
                image.load()
                return _light_on_black(eight_bit(image))
    except MaskError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError, Warning):
        raise MaskError(
            "The mask is not a PNG image: send a PNG, white where to repaint."
        ) from None


def _light_on_black(image: Image.Image) -> Image.Image:
    """Greyscale with transparent pixels counted as kept."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        return Image.alpha_composite(black, rgba).convert("L")
    return image.convert("L")
