"""What the worker produced for one spec: the images, and what post-process hooks add."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PIL import Image

from imagine_bot.engine.spec import GenerationSpec

if TYPE_CHECKING:
    from imagine_bot.engine.provenance.manifest import ContentRecord


class GenerationResult:
    """What the worker produced for one spec; post-process hooks add to it in place."""

    def __init__(
        self, spec: GenerationSpec, images: list[Image.Image], texts: Sequence[str] = ()
    ) -> None:
        if spec.kind != "describe" and len(images) != len(spec.seeds):
            raise RuntimeError(
                f"the generate stage returned {len(images)} images for {len(spec.seeds)} seeds"
            )
        self.spec = spec
        self.images = images
        self.grid: Image.Image | None = None
        self.parameters: list[str] = []
        """Per-image generation parameters (A1111 text), written into each PNG."""
        self.png_text: dict[str, str] = {}
        """More PNG text chunks, the same for every image (the typed prompt, the spec)."""
        self.warnings: list[str] = []
        """What the user should know about how it was made (e.g. an upscaler fallback)."""
        self.notes: dict[str, str] = {}
        """How the engine ran it beyond the spec (the step cache), for the parameters text."""
        self.flagged: list[int] = []
        """The images (1-based, grid order) the safety classifier flagged."""
        self.texts = list(texts)
        """What a /describe job wrote: its prompts."""
        self.provenance: ContentRecord | None = None
        """What the PNGs' Content Credentials say; the worker signs them when encoding."""
        self.gpu_seconds = 0.0
