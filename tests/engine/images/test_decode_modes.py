"""Valid images in the modes Pillow cannot shrink directly (1-bit, 16-bit grey), past the
size where decoding shrinks them first, come out right rather than "damaged"."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from imagine_bot.engine.images.decode import decode_image

SIDE = 4_800
"""Over 4,096: with max_side 1,024 decoding reduces by a whole factor before converting."""


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def decoded(image: Image.Image) -> np.ndarray:
    rgb = decode_image(png(image), max_pixels=40_000_000, max_side=1_024, name="x")
    assert rgb.mode == "RGB" and max(rgb.size) == 1_024
    return np.asarray(rgb)


def test_a_large_16_bit_grey_png_keeps_its_shades() -> None:
    values = np.zeros((SIDE // 4, SIDE), np.uint16)
    values[:, SIDE // 2 :] = 32_768  # left black, right middle grey
    pixels = decoded(Image.fromarray(values))
    assert pixels[:, :400].max() == 0
    assert abs(int(pixels[:, -400:].mean()) - 128) <= 1


def test_a_large_1_bit_png_is_black_and_white() -> None:
    image = Image.new("1", (SIDE, SIDE // 4), 0)
    image.paste(1, (SIDE // 2, 0, SIDE, SIDE // 4))
    pixels = decoded(image)
    assert pixels[:, :400].max() == 0
    assert pixels[:, -400:].min() == 255
