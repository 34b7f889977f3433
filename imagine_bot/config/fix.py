"""Settings of Fix Faces and ``--fix`` (``[fix]``): how regions are found and repainted."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FixSettings(BaseModel):
    """An ADetailer-style pass: find faces (or hands), repaint each at the model's size, paste
    it back with a feathered edge.

    Faces are found by OpenCV's frontal-face Haar cascade, shipped inside the opencv wheel,
    unless ``detector`` names a YOLO file; hands need ``hand_detector`` (OpenCV ships no hand
    cascade). YOLO files (ADetailer's ``face_yolov8n.pt``, ``hand_yolov8n.pt``) are read by
    ``ultralytics``, the ``yolo`` extra.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: str = ""
    """Added to the job's prompt for the repainted regions (e.g. "detailed face, sharp eyes")."""
    strength: float = Field(0.4, gt=0.0, le=1.0)
    """How far a region may move from what it was (ADetailer's denoising strength)."""
    detector: str | None = None
    """A YOLO face detector file (``face_yolov8n.pt``); unset: OpenCV's Haar cascade."""
    hand_detector: str | None = None
    """A YOLO hand detector file (``hand_yolov8n.pt``); unset: ``--fix hands`` is refused."""
    confidence: float = Field(0.3, gt=0.0, lt=1.0)
    """The least confidence of a YOLO detection that is repainted."""
    margin: float = Field(0.3, ge=0.0, le=2.0)
    """Context around a region in the crop that is repainted, as a share of its side."""
    feather: int = Field(8, ge=0, le=64)
    """Pixels over which a repainted region blends into the image around it."""
    min_side: int = Field(24, ge=8)
    """Regions smaller than this many pixels a side are left alone."""
