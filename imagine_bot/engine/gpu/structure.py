"""Retexture and ``--structure``: a ControlNet keeps a picture's structure while the prompt
sets its look.

The control image is made here, from the structure image at the job's size: Canny edges with
OpenCV, or a depth map from a transformers depth-estimation model (DPT, Depth Anything), as
the preset's ControlNet (``[models.NAME.structure]``) was trained on. The ControlNet joins the
preset's loaded pipeline through ``from_pipe`` (``ModelRegistry.controlnet_pipeline``).
"""

from __future__ import annotations

import inspect
from typing import Any

import cv2
import diffusers
import numpy as np
import torch
from diffusers import ControlNetModel, DiffusionPipeline
from PIL import Image
from transformers import AutoImageProcessor, AutoModelForDepthEstimation

from imagine_bot.config.structure import StructureSettings
from imagine_bot.engine.control import JobCancelled, JobControl
from imagine_bot.engine.errors import UserError
from imagine_bot.engine.gpu.families import Family
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.engine.gpu.sampling import run_pipeline
from imagine_bot.engine.images.geometry import fit
from imagine_bot.engine.spec import GenerationSpec


def retexture(
    spec: GenerationSpec, models: ModelRegistry, control: JobControl
) -> list[Image.Image]:
    """``spec``'s prompt, drawn on the structure of ``spec.structure``."""
    assert spec.structure is not None and spec.structure.sha256 is not None
    pipeline, settings = models.controlnet_pipeline(spec.model)
    if control.cancelled:
        raise JobCancelled
    image = models.store.open(spec.structure.sha256)
    guide = control_image(image, settings, spec.width, spec.height, models)
    # SD and SDXL ControlNet pipelines take the control image as ``image``; FLUX and SD3 as
    # ``control_image``.
    takes = inspect.signature(pipeline.__call__).parameters
    name = "control_image" if "control_image" in takes else "image"
    return run_pipeline(
        pipeline,
        spec,
        models,
        control,
        width=spec.width,
        height=spec.height,
        controlnet_conditioning_scale=spec.structure.weight,
        **{name: guide},
    )


def with_controlnet(
    base: DiffusionPipeline,
    family: Family,
    preset: str,
    settings: StructureSettings,
    dtype: torch.dtype,
    device: torch.device,
) -> DiffusionPipeline:
    """``base`` with the ControlNet of ``settings`` in the pipeline its family runs it with."""
    # Every ControlNet class reads its config alike; the config names the class to load.
    class_name = str(ControlNetModel.load_config(settings.controlnet)["_class_name"])
    pipeline_class = family.controlnet_pipeline(class_name)
    if pipeline_class is None:
        raise UserError(
            f"{family.title} models cannot run a {class_name} ControlNet "
            f"(models.{preset}.structure.controlnet), so Retexture is off for {preset!r}."
        )
    controlnet = getattr(diffusers, class_name).from_pretrained(
        settings.controlnet, torch_dtype=dtype
    )
    pipeline = pipeline_class.from_pipe(base, controlnet=controlnet.to(device))
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def control_image(
    image: Image.Image, settings: StructureSettings, width: int, height: int, models: ModelRegistry
) -> Image.Image:
    """What the ControlNet sees: the edges or the depth of ``image`` at ``width`` x ``height``."""
    fitted = fit(image, width, height)
    if settings.control == "canny":
        return canny(fitted, settings.canny_low, settings.canny_high)
    return models.depth_estimator(settings.depth_model).depth(fitted)


def canny(image: Image.Image, low: int, high: int) -> Image.Image:
    """White edges on black, in RGB (the images Canny ControlNets are trained on)."""
    edges = cv2.Canny(np.asarray(image.convert("L")), low, high)
    return Image.fromarray(np.stack([edges] * 3, axis=-1), "RGB")


class DepthEstimator:
    """A transformers depth-estimation model and its processor, loaded once."""

    def __init__(self, source: str, device: torch.device) -> None:
        self.processor: Any = AutoImageProcessor.from_pretrained(source)
        self.model: Any = AutoModelForDepthEstimation.from_pretrained(source).to(device).eval()
        self.device = device

    def depth(self, image: Image.Image) -> Image.Image:
        """Near is bright, far is dark, in RGB at ``image``'s size (as depth ControlNets want)."""
        inputs = self.processor(images=image, return_tensors="pt").to(self.device)
        with torch.no_grad():
            predicted = self.model(**inputs).predicted_depth
        resized = torch.nn.functional.interpolate(
            predicted[:, None].float(), size=(image.height, image.width), mode="bicubic"
        )[0, 0]
        low, high = resized.min(), resized.max()
        scaled = ((resized - low) / (high - low).clamp(min=1e-6) * 255).clamp(0, 255)
        gray = scaled.to(torch.uint8).cpu().numpy()
        return Image.fromarray(np.stack([gray] * 3, axis=-1), "RGB")
