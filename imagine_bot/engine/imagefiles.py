"""Writing result images: PNG with generation parameters, written atomically."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, PngImagePlugin

from imagine_bot.engine.domain import GenerationResult

PARAMETERS_KEY = "parameters"


@dataclass(frozen=True)
class ResultFiles:
    grid: Path | None
    images: tuple[Path, ...]


def save_result(result: GenerationResult, directory: Path, stem: str) -> ResultFiles:
    """Write ``{stem}_grid.png`` and ``{stem}_1.png`` .. ``{stem}_4.png`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    parameters = result.parameters or [""] * len(result.images)
    images = tuple(
        save_png(image, directory / f"{stem}_{index}.png", text)
        for index, (image, text) in enumerate(zip(result.images, parameters, strict=True), 1)
    )
    grid = None
    if result.grid is not None:
        grid = save_png(result.grid, directory / f"{stem}_grid.png", parameters[0])
    return ResultFiles(grid=grid, images=images)


def save_png(image: Image.Image, path: Path, parameters: str = "") -> Path:
    """Write through a temporary file and rename, so a crash never leaves half an image."""
    info = PngImagePlugin.PngInfo()
    if parameters:
        info.add_text(PARAMETERS_KEY, parameters)
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "wb") as file:
            image.save(file, format="PNG", pnginfo=info)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
