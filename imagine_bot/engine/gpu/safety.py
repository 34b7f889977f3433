"""The safety classifier: a transformers image-classification model that flags results.

Loaded on first use with ``AutoModelForImageClassification`` and the PIL (torchvision-free)
image processor, then kept on the engine's device like the pipelines.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from PIL import Image
from transformers import AutoImageProcessor, AutoModelForImageClassification

from imagine_bot.config.safety import SafetySettings
from imagine_bot.engine.errors import UserError


class ContentClassifier:
    """Which images of a result carry a flagged label. GPU worker thread only."""

    def __init__(self, settings: SafetySettings, device: torch.device) -> None:
        self.settings = settings
        self.device = device
        try:
            # backend="pil": the fast processors need torchvision, which this project never has.
            self.processor = AutoImageProcessor.from_pretrained(settings.classifier, backend="pil")
            model = AutoModelForImageClassification.from_pretrained(settings.classifier)
        except (OSError, ValueError) as exc:
            raise UserError(
                f"The safety classifier could not be loaded from {settings.classifier}: {exc}. "
                "Check safety.classifier in the settings."
            ) from exc
        self.model = model.to(device).eval()
        labels = {str(name).lower(): int(index) for index, name in model.config.id2label.items()}
        missing = [label for label in settings.flagged_labels if label.lower() not in labels]
        if missing:
            raise UserError(
                f"The safety classifier has no label {', '.join(missing)} "
                f"(its labels: {', '.join(sorted(labels))}); check safety.flagged_labels."
            )
        self._flagged_indices = [labels[label.lower()] for label in settings.flagged_labels]

    def flagged(self, images: Sequence[Image.Image]) -> list[int]:
        """The 1-based positions of the images a flagged label reaches the threshold on."""
        inputs = self.processor(
            images=[image.convert("RGB") for image in images], return_tensors="pt"
        )
        pixels = inputs["pixel_values"].to(self.device, self.model.dtype)
        with torch.inference_mode():
            probabilities = self.model(pixel_values=pixels).logits.float().softmax(dim=-1)
        scores = probabilities[:, self._flagged_indices].amax(dim=-1)
        return [n for n, score in enumerate(scores.tolist(), 1) if score >= self.settings.threshold]
