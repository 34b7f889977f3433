"""A user's image bytes -> a small RGB image, within a bounded amount of memory.

Pillow may only use the decoders in ``IMAGE_FORMATS``. The header is checked before any pixel
is decoded: at most ``max_pixels`` in all and ``MAX_SIDE_PIXELS`` on either side (a 1 x 40 M
strip is within a pixel cap, but resampling it needs gigabytes). JPEGs decode at a reduced
scale (``draft``); every image is then shrunk by an integer factor (``reduce``) before any
conversion, and every image decodes on one thread of the whole process, one at a time: eight
40-megapixel images in one prompt cost what one costs.
"""

from __future__ import annotations

import io
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from imagine_bot.config import FetchSettings
from imagine_bot.config.quoting import short
from imagine_bot.engine.errors import UserError
from imagine_bot.engine.images.store import ImageStore, StoredImage

IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "GIF")
"""The only decoders Pillow may use on a user's bytes."""
MAX_SIDE_PIXELS = 12_000
"""The longest side an input image may have, whatever its pixel count."""
REDUCING_GAP = 2
"""Shrink by whole factors down to this many times the wanted size, then resample."""
_FORMAT_NAMES = "PNG, JPEG, WebP or GIF"


class ImageFetchError(UserError):
    """A URL, a download or a file that cannot be used as an image; says which and why."""


_DECODER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imagine-decode")
"""The memory budget: one full-size image (at most ``max_pixels`` x 4 bytes) at a time, on one
thread, so the allocator reuses the memory the last image freed (per-thread malloc arenas
would each keep a full-size image's worth)."""


def decode_image(data: bytes, *, max_pixels: int, max_side: int, name: str) -> Image.Image:
    """The first frame of ``data`` in RGB, at most ``max_side`` on its longer side.

    A decompression bomb, an image too large or too long, or damaged data is an
    ``ImageFetchError`` naming ``name``, never a warning. Blocks while earlier images decode.
    """
    return _DECODER.submit(_decode, data, max_pixels, max_side, name).result()


def _decode(data: bytes, max_pixels: int, max_side: int, name: str) -> Image.Image:
    label = short(name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as image:
                _check_size(label, *image.size, max_pixels)
                if image.format == "JPEG":
                    image.draft("RGB", (max_side, max_side))  # decode at a reduced scale
                image.seek(0)
                image.load()
                small = _reduced(eight_bit(image), max_side)
                frame = ImageOps.exif_transpose(small) or small
                rgb = _flatten_to_rgb(frame)
    except ImageFetchError:
        raise
    except UnidentifiedImageError:
        raise ImageFetchError(f"{label} is not a {_FORMAT_NAMES} image.") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own guard fired while reading the header (a size far past ours)
        raise ImageFetchError(
            f"{label} has far too many pixels (a decompression bomb?); "
            f"the limit is {max_pixels / 1e6:g} megapixels."
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError):
        raise ImageFetchError(f"{label} is a damaged or truncated image.") from None
    rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return rgb


def store_image_file(path: Path, settings: FetchSettings, store: ImageStore) -> StoredImage:
    """A local image file (the command line's ``--image``), under the same limits as a URL."""
    try:
        size = path.stat().st_size
        if size > settings.max_bytes:
            raise ImageFetchError(
                f"{path} is larger than {settings.max_bytes // 1024 // 1024} MB; refused."
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageFetchError(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise ImageFetchError(f"{path} is a folder, not an image file.") from None
    except PermissionError:
        raise ImageFetchError(f"{path} cannot be read (permission denied).") from None
    image = decode_image(
        data, max_pixels=settings.max_pixels, max_side=settings.max_side, name=str(path)
    )
    return store.put(image)


def _check_size(label: str, width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0 or width * height > max_pixels:
        raise ImageFetchError(
            f"{label} is {width}x{height} pixels; the limit is {max_pixels / 1e6:g} megapixels."
        )
    if max(width, height) > MAX_SIDE_PIXELS:
        raise ImageFetchError(
            f"{label} is {width}x{height} pixels; neither side may be longer than "
            f"{MAX_SIDE_PIXELS:,} pixels."
        )


def eight_bit(image: Image.Image) -> Image.Image:
    """1-bit and 16-bit grey as 8-bit grey: ``reduce`` refuses those modes, and converting
    16-bit grey straight to RGB clips everything above 255 to white."""
    if image.mode == "1":
        return image.convert("L")
    if image.mode.startswith("I"):  # I;16 from 16-bit PNGs, I from 32-bit ones
        wide = np.asarray(image).astype(np.uint32)
        return Image.fromarray((wide >> 8).clip(0, 255).astype(np.uint8), "L")
    return image


def _reduced(image: Image.Image, max_side: int) -> Image.Image:
    """``image`` shrunk by the largest whole factor that keeps it ``REDUCING_GAP`` times
    larger than ``max_side``: a box filter, cheap, and the full-size copy can go."""
    factor = max(image.size) // (max_side * REDUCING_GAP)
    if factor < 2:
        return image.copy()
    if image.mode == "P":  # a palette cannot be averaged
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    return image.reduce(factor)


def _flatten_to_rgb(image: Image.Image) -> Image.Image:
    """RGB, with any transparency laid over white rather than over whatever the pixels hold."""
    transparent = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )
    if not transparent:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    background.alpha_composite(rgba)
    return background.convert("RGB")
