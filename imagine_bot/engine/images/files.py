"""Writing a result's images under readable names (for the command line)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from imagine_bot.engine.images.store import png_bytes, write_atomically
from imagine_bot.engine.spec import GenerationResult


@dataclass(frozen=True)
class ResultFiles:
    grid: Path | None
    images: tuple[Path, ...]


def save_result(result: GenerationResult, directory: Path, stem: str) -> ResultFiles:
    """Write ``{stem}_grid.png`` and ``{stem}_1.png`` .. ``{stem}_4.png`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    parameters = result.parameters or [""] * len(result.images)
    images = tuple(
        save_png(image, directory / f"{stem}_{index}.png", text, result.png_text)
        for index, (image, text) in enumerate(zip(result.images, parameters, strict=True), 1)
    )
    grid = None
    if result.grid is not None:
        grid = save_png(result.grid, directory / f"{stem}_grid.png", parameters[0], result.png_text)
    return ResultFiles(grid=grid, images=images)


def save_png(
    image: Image.Image, path: Path, parameters: str = "", text: Mapping[str, str] | None = None
) -> Path:
    write_atomically(path, png_bytes(image, parameters, text))
    return path
