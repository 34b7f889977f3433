"""Fitting images to the sizes the pipelines run at."""

from __future__ import annotations

from PIL import Image


def fit(image: Image.Image, width: int, height: int) -> Image.Image:
    """``image`` in RGB at exactly ``width`` x ``height``."""
    image = image.convert("RGB")
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    return image
