"""Getting images into Discord within its upload limit, surviving transient failures."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import discord
from PIL import Image

log = logging.getLogger(__name__)

DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024
"""Discord's attachment limit for servers without boosts."""
_LOSSY_QUALITIES = (95, 90, 80, 70, 60)
_T = TypeVar("_T")


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str
    note: str | None
    """Set when the image had to be re-encoded to fit, to tell the user."""

    def file(self, *, spoiler: bool = False) -> discord.File:
        return discord.File(io.BytesIO(self.data), filename=self.filename, spoiler=spoiler)


def encode_for_upload(image: Image.Image, stem: str, limit: int) -> Upload:
    """PNG when it fits under ``limit`` bytes, else the best WebP (then JPEG) that fits.

    ``stem`` names the file; it comes from the job id, never from prompt text.
    """
    png = _encode(image, "PNG")
    if len(png) <= limit:
        return Upload(png, f"{stem}.png", None)
    for format_name, suffix in (("WEBP", "webp"), ("JPEG", "jpg")):
        for quality in _LOSSY_QUALITIES:
            data = _encode(image, format_name, quality=quality)
            if len(data) <= limit:
                note = (
                    f"The PNG was {len(png) / 2**20:.1f} MiB, over this server's upload limit, "
                    f"so it was sent as {format_name} (quality {quality})."
                )
                return Upload(data, f"{stem}.{suffix}", note)
    scale = (limit / len(png)) ** 0.5
    smaller = image.resize((max(1, int(image.width * scale)), max(1, int(image.height * scale))))
    data = _encode(smaller, "JPEG", quality=_LOSSY_QUALITIES[-1])
    note = (
        "The image was too large for this server's upload limit, "
        f"so it was sent at {smaller.width}x{smaller.height}."
    )
    return Upload(data, f"{stem}.jpg", note)


def stored_upload(path: Path, stem: str, limit: int) -> Upload:
    """A stored PNG as it is (its generation parameters included) when it fits under
    ``limit``, else re-encoded to fit. Blocking: call it in a thread."""
    if path.stat().st_size <= limit:
        return Upload(path.read_bytes(), f"{stem}.png", None)
    with Image.open(path) as image:
        return encode_for_upload(image, stem, limit)


def _encode(image: Image.Image, format_name: str, **options: int) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format=format_name, **options)
    return buffer.getvalue()


async def with_retries(
    attempt: Callable[[], Awaitable[_T]], *, retries: int, first_delay: float = 1.0
) -> _T:
    """Run ``attempt``, retrying what may pass: network errors, 5xx and 429 responses.

    discord.py already waits out ordinary rate limits; a 429 still reaches us when a limit
    outlasts its patience, and then we wait the time Discord asked for. Anything else (400,
    403, 404) will not get better by retrying and is raised at once.
    """
    delay = first_delay
    for remaining in range(retries, -1, -1):
        try:
            return await attempt()
        except (TimeoutError, discord.HTTPException, OSError) as error:
            if remaining == 0 or not _transient(error):
                raise
            wait = max(delay, float(getattr(error, "retry_after", 0) or 0))
            log.warning("Discord request failed (%s); retrying in %.1f s", error, wait)
            await asyncio.sleep(wait)
            delay *= 2
    raise AssertionError("unreachable")


def _transient(error: BaseException) -> bool:
    if isinstance(error, discord.HTTPException):
        return error.status == 429 or error.status >= 500
    return True
