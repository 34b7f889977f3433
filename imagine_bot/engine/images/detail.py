"""Regions of an image that Fix Faces repaints: boxes, the size a region is repainted at, the
feathered weight with which it goes back into its image, and which detector finds them."""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imagine_bot.config.fix import FixSettings
from imagine_bot.engine.errors import DetectorUnavailable
from imagine_bot.engine.spec import FixTarget

SIZE_STEP = 8
"""Latents are an eighth of the image: a repainted crop's sides are multiples of 8."""


@dataclass(frozen=True)
class Box:
    """A region of an image in pixels: ``left``, ``top`` inclusive, ``right``, ``bottom``
    exclusive."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def as_tuple(self) -> tuple[int, int, int, int]:
        return self.left, self.top, self.right, self.bottom

    def grown(self, by: int, size: tuple[int, int]) -> Box:
        """This box with ``by`` more pixels on every side, within an image of ``size``."""
        width, height = size
        return Box(
            max(0, self.left - by),
            max(0, self.top - by),
            min(width, self.right + by),
            min(height, self.bottom + by),
        )


def feathered_weight(box: Box, size: tuple[int, int], feather: int) -> np.ndarray:
    """Per pixel of an image of ``size``, how much of the repainted region it takes: 1 inside
    ``box``, falling linearly to 0 at ``feather`` pixels outside it, 0 beyond (those pixels
    are the image's own, unchanged)."""
    width, height = size
    xs, ys = np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32)
    dx = np.maximum(np.maximum(box.left - xs, xs - (box.right - 1)), 0.0)
    dy = np.maximum(np.maximum(box.top - ys, ys - (box.bottom - 1)), 0.0)
    distance = np.hypot(dx[None, :], dy[:, None])
    if feather == 0:
        weight: np.ndarray = (distance == 0).astype(np.float32)
    else:
        weight = np.clip(1.0 - distance / feather, 0.0, 1.0).astype(np.float32)
    return weight


def crop_size(box: Box, pixel_area: int) -> tuple[int, int]:
    """The size ``box`` is repainted at: its shape at the model's ``pixel_area``, in multiples
    of 8 (ADetailer's "inpaint at the model's resolution")."""
    scale = math.sqrt(pixel_area / (box.width * box.height))
    return (
        max(SIZE_STEP, round(box.width * scale / SIZE_STEP) * SIZE_STEP),
        max(SIZE_STEP, round(box.height * scale / SIZE_STEP) * SIZE_STEP),
    )


def detector_file(target: FixTarget, settings: FixSettings) -> Path | None:
    """The YOLO file that finds ``target``, None for OpenCV's face cascade; raises
    ``DetectorUnavailable`` when the settings name none that can run here (checked when a job
    is planned, so a job that cannot run is never queued, and again on the worker)."""
    setting = "fix.detector" if target == "faces" else "fix.hand_detector"
    name = settings.detector if target == "faces" else settings.hand_detector
    if name is None:
        if target == "hands":
            raise DetectorUnavailable(setting, "it is not set, and OpenCV ships no hand finder")
        return None
    path = Path(name).expanduser()
    if not path.is_file():
        raise DetectorUnavailable(setting, f"there is no file {path}")
    if importlib.util.find_spec("ultralytics") is None:
        raise DetectorUnavailable(
            setting, "YOLO files need ultralytics (pip install 'imagine-bot[yolo]')"
        )
    return path
