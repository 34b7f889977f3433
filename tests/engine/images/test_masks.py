"""Region masks: each unusable mask is refused with a sentence; a good one becomes binary."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from imagine_bot.engine.images.masks import MaskError, read_mask

SIZE = (64, 48)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def rectangle_mask(size: tuple[int, int] = SIZE, mode: str = "RGB") -> Image.Image:
    mask = Image.new(mode, size, 0)
    mask.paste(Image.new(mode, (16, 8), (255,) * len(mode)), (8, 4))
    return mask


def test_a_marked_rectangle_becomes_a_binary_mask() -> None:
    grey = Image.new("L", SIZE, 60)  # dark grey is kept, light grey is the region
    grey.paste(Image.new("L", (16, 8), 200), (8, 4))
    mask = read_mask(png(grey), SIZE)
    values = np.asarray(mask)
    assert mask.mode == "L" and mask.size == SIZE
    assert set(np.unique(values)) == {0, 255}
    assert (values == 255).sum() == 16 * 8
    assert values[4, 8] == 255 and values[3, 8] == 0


def test_transparent_pixels_are_kept_whatever_their_colour() -> None:
    mask = Image.new("RGBA", SIZE, (255, 255, 255, 0))
    mask.paste(Image.new("RGBA", (4, 4), (255, 255, 255, 255)), (0, 0))
    assert (np.asarray(read_mask(png(mask), SIZE)) == 255).sum() == 16


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (png(Image.new("L", SIZE, 0)), "The mask is empty"),
        (png(Image.new("L", SIZE, 255)), "covers the whole image"),
        (png(rectangle_mask((48, 64))), "48x64 pixels but the image is 64x48"),
        (b"GIF89a not really", "not a PNG image"),
        (b"", "not a PNG image"),
        (png(rectangle_mask())[:60], "not a PNG image"),
    ],
)
def test_unusable_masks_are_refused_in_one_line(data: bytes, message: str) -> None:
    with pytest.raises(MaskError, match=message) as refusal:
        read_mask(data, SIZE)
    assert "\n" not in str(refusal.value)


def encoded(image: Image.Image, format: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format)
    return buffer.getvalue()


@pytest.mark.parametrize("format", ["TIFF", "BMP", "GIF", "JPEG", "WEBP", "PPM"])
def test_a_mask_must_be_a_png(format: str) -> None:
    with pytest.raises(MaskError, match="not a PNG image"):
        read_mask(encoded(rectangle_mask(), format), SIZE)


def test_a_16_bit_grey_mask_is_read_by_its_brightness() -> None:
    values = np.full(SIZE[::-1], 20_000, np.uint16)  # dark grey: kept
    values[4:12, 8:24] = 60_000  # light grey: the region
    mask = read_mask(png(Image.fromarray(values)), SIZE)
    assert (np.asarray(mask) == 255).sum() == 16 * 8
