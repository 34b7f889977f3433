"""The 2x2 grid of a job's images, in reading order (U1 U2 / U3 U4)."""

from __future__ import annotations

from PIL import Image

COLUMNS = 2


def make_grid(images: list[Image.Image]) -> Image.Image:
    width, height = images[0].size
    rows = -(-len(images) // COLUMNS)
    grid = Image.new("RGB", (width * COLUMNS, height * rows))
    for index, image in enumerate(images):
        grid.paste(image, ((index % COLUMNS) * width, (index // COLUMNS) * height))
    return grid
