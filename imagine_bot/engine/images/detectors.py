"""What Fix Faces finds regions with: OpenCV's Haar cascade, or one of ADetailer's YOLO files
(``face_yolov8n.pt``, ``hand_yolov8n.pt``) through ``ultralytics`` (the ``yolo`` extra)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from cv2.data import haarcascades
from PIL import Image

from imagine_bot.config.fix import FixSettings
from imagine_bot.engine.images.detail import Box, detector_file
from imagine_bot.engine.spec import FixTarget

Detector = Callable[[Image.Image], list[Box]]
FACE_CASCADE = "haarcascade_frontalface_default.xml"
"""OpenCV's frontal-face Haar cascade, shipped inside the opencv wheel (``cv2.data``)."""


def detector_for(target: FixTarget, settings: FixSettings, device: str) -> Detector:
    """The detector of ``target`` the settings name (see ``regions.detector_file``)."""
    path = detector_file(target, settings)
    if path is None:
        return lambda image: find_faces(image, settings.min_side)
    return YoloDetector(path, settings.confidence, settings.min_side, device)


def find_faces(image: Image.Image, min_side: int) -> list[Box]:
    """The frontal faces in ``image`` at least ``min_side`` pixels a side, by OpenCV's Haar
    cascade (loaded per call: a classifier is not safe to share between worker threads)."""
    cascade = cv2.CascadeClassifier(haarcascades + FACE_CASCADE)
    gray = cv2.equalizeHist(cv2.cvtColor(np.asarray(image.convert("RGB")), cv2.COLOR_RGB2GRAY))
    found = cascade.detectMultiScale(
        gray, scaleFactor=1.1, minNeighbors=4, minSize=(min_side, min_side)
    )
    return [Box(int(x), int(y), int(x + w), int(y + h)) for x, y, w, h in found]


class YoloDetector:
    """A YOLO detection model, loaded once; every box at ``confidence`` or more is a region."""

    def __init__(self, path: Path, confidence: float, min_side: int, device: str) -> None:
        from ultralytics import YOLO  # the optional extra; detector_file checked it is there

        self.model = YOLO(str(path))
        self.confidence = confidence
        self.min_side = min_side
        self.device = device

    def __call__(self, image: Image.Image) -> list[Box]:
        (result,) = self.model.predict(
            image.convert("RGB"), conf=self.confidence, device=self.device, verbose=False
        )
        boxes = [Box(*(round(float(v)) for v in xyxy)) for xyxy in result.boxes.xyxy.tolist()]
        return [box for box in boxes if min(box.width, box.height) >= self.min_side]
