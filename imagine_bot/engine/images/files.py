"""A result's images as PNG files: encoded (and signed) bytes, and written under readable names
(for the command line)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from imagine_bot.engine.images.store import png_bytes, write_atomically
from imagine_bot.engine.result import GenerationResult


@dataclass(frozen=True)
class ResultFiles:
    grid: Path | None
    images: tuple[Path, ...]


@dataclass(frozen=True)
class ResultPngs:
    images: list[bytes]
    grid: bytes | None


def result_pngs(result: GenerationResult) -> ResultPngs:
    """Every image of ``result`` and its grid as PNG bytes with their text chunks, signed when
    the result has a ``provenance`` record (a grid lists its images as components). CPU work:
    never on the thread that drives the GPU."""
    texts = result.parameters or [""] * len(result.images)
    record = result.provenance
    images = [
        png_bytes(image, text, result.png_text)
        for image, text in zip(result.images, texts, strict=True)
    ]
    if record is not None:
        count = len(images)
        images = [record.sign(png, f"image {k} of {count}") for k, png in enumerate(images, 1)]
    grid = None
    if result.grid is not None:
        grid = png_bytes(result.grid, texts[0], result.png_text)
        if record is not None:
            grid = record.sign(grid, "grid", components=images)
    return ResultPngs(images, grid)


def save_result(result: GenerationResult, directory: Path, stem: str) -> ResultFiles:
    """Write ``{stem}_grid.png`` and ``{stem}_1.png`` .. ``{stem}_4.png`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    pngs = result_pngs(result)
    images = tuple(
        save_png(png, directory / f"{stem}_{index}.png") for index, png in enumerate(pngs.images, 1)
    )
    grid = None if pngs.grid is None else save_png(pngs.grid, directory / f"{stem}_grid.png")
    return ResultFiles(grid=grid, images=images)


def save_png(data: bytes, path: Path) -> Path:
    write_atomically(path, data)
    return path
