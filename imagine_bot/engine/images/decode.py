"""Bytes a user gave (a download or a local file) into an image, or a plain refusal: Pillow
opens them with an explicit format list and a pixel cap checked before decoding; the first
frame is kept, in RGB, scaled down to a bounded size."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from yarl import URL

from imagine_bot.config import FetchSettings
from imagine_bot.engine.errors import UserError
from imagine_bot.engine.images.store import ImageStore, StoredImage

IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "GIF")
"""The only decoders Pillow may use on a user's bytes."""
_FORMAT_NAMES = "PNG, JPEG, WebP or GIF"


class ImageFetchError(UserError):
    """A URL, a download or a file that cannot be used as an image; says which and why."""


def short(url: str | URL, limit: int = 80) -> str:
    """A URL as it appears in messages: enough to recognise, never a wall of text."""
    text = str(url)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def decode_image(data: bytes, *, max_pixels: int, max_side: int, name: str) -> Image.Image:
    """The first frame of ``data`` in RGB, at most ``max_side`` on its longer side.

    Only the formats in ``IMAGE_FORMATS`` are tried, and the pixel count is checked from the
    header before any pixel is decoded: a decompression bomb is an error, never a warning.
    """
    label = short(name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as image:
                width, height = image.size
                if width * height > max_pixels or width <= 0 or height <= 0:
                    raise _too_many_pixels(label, width, height, max_pixels)
                if image.format == "JPEG":
                    image.draft("RGB", (max_side, max_side))  # decode at a reduced scale
                image.seek(0)
                image.load()
                frame = ImageOps.exif_transpose(image) or image
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


def _too_many_pixels(label: str, width: int, height: int, limit: int) -> ImageFetchError:
    return ImageFetchError(
        f"{label} is {width}x{height} pixels; the limit is {limit / 1e6:g} megapixels."
    )


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
