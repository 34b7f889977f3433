"""Images kept by content: every input and output image is stored once, under its sha256.

Specs refer to images by hash, so a job re-run after a restart reads exactly the pixels it
had, and never fetches an expiring URL again.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, PngImagePlugin

PARAMETERS_KEY = "parameters"
"""A1111's generation parameters text, which sd-parsers, sd-prompt-reader and A1111 read."""
PROMPT_KEY = "imagine-prompt"
"""The prompt exactly as typed, flags and ``::`` weights included: what re-runs the job."""
SPEC_KEY = "imagine-spec"
"""The job's spec as JSON (``GenerationSpec``)."""


@dataclass(frozen=True)
class StoredImage:
    sha256: str
    path: Path
    size_bytes: int
    width: int
    height: int


class ImageStore:
    """A folder of PNG files named by the sha256 of their bytes, fanned out by prefix."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(
        self, image: Image.Image, parameters: str = "", text: Mapping[str, str] | None = None
    ) -> StoredImage:
        """Store ``image`` as PNG (with A1111 ``parameters`` text and the ``text`` chunks)."""
        return self.put_png(png_bytes(image, parameters, text), image.width, image.height)

    def put_png(self, data: bytes, width: int, height: int) -> StoredImage:
        """Store PNG bytes encoded elsewhere (by a worker), as they are."""
        sha256 = hashlib.sha256(data).hexdigest()
        path = self.path(sha256)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(path, data)
        return StoredImage(sha256, path, len(data), width, height)

    def read(self, sha256: str) -> bytes:
        """The stored file's bytes, to send the image to a worker."""
        return self.path(sha256).read_bytes()

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / f"{sha256}.png"

    def open(self, sha256: str) -> Image.Image:
        """The stored image, fully loaded and in RGB."""
        with Image.open(self.path(sha256)) as image:
            return image.convert("RGB")


def png_bytes(
    image: Image.Image, parameters: str = "", text: Mapping[str, str] | None = None
) -> bytes:
    """``image`` as PNG with text chunks (Latin-1 as tEXt, anything else as UTF-8 iTXt)."""
    info = PngImagePlugin.PngInfo()
    chunks = {PARAMETERS_KEY: parameters, **(text or {})}
    for key, value in chunks.items():
        if value:
            info.add_text(key, value)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def write_atomically(path: Path, data: bytes) -> None:
    """Write through a temporary file and rename, so a crash never leaves half a file."""
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        # mkstemp makes the file private (0600); images are for the host's users to read too,
        # as any file the process creates under its umask (a container's /data volume).
        os.fchmod(descriptor, 0o666 & ~_umask())
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@functools.cache
def _umask() -> int:
    # The only way to read the umask is to set it; done once, and set straight back.
    current = os.umask(0o022)
    os.umask(current)
    return current
