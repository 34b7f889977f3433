"""A model preset's ControlNet for Retexture and ``--structure`` (``[models.NAME.structure]``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ControlKind = Literal["canny", "depth"]
"""What the control image shows: edges (OpenCV's Canny) or depth (a depth-estimation model)."""


class StructureSettings(BaseModel):
    """The ControlNet that keeps a picture's structure while the prompt changes its look.

    Any diffusers ControlNet of the preset's family: SD 1.5 / SDXL ControlNets, SDXL Union,
    FLUX and SD3 ControlNets (its ``config.json`` names its class). ``control`` must be what it
    was trained on; the control image is made here, by OpenCV or ``depth_model``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    controlnet: str = Field(min_length=1)
    """Hub id or local folder of the ControlNet (e.g. "diffusers/controlnet-canny-sdxl-1.0")."""
    control: ControlKind = "canny"
    depth_model: str = Field("depth-anything/Depth-Anything-V2-Small-hf", min_length=1)
    """For ``control = "depth"``: a transformers depth-estimation model (DPT, Depth Anything)."""
    canny_low: int = Field(100, ge=0, le=255)
    canny_high: int = Field(200, ge=0, le=255)
    """Canny's hysteresis thresholds: edges weaker than ``low`` are dropped, stronger than
    ``high`` always kept."""
