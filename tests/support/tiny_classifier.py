"""A tiny random ViT image classifier for the safety tests, saved like a real one.

Its head's weights are zero and its bias favours one label, so every image gets that label
with a probability of about 0.99: the test decides the verdict, not random weights.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

LABELS = ("normal", "nsfw")
SIDE = 32


def build_tiny_classifier(folder: Path, winner: str) -> Path:
    """Save a classifier whose every answer is ``winner`` to ``folder`` (once) and return it."""
    if (folder / "config.json").is_file():
        return folder
    config = ViTConfig(
        image_size=SIDE,
        patch_size=8,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        id2label=dict(enumerate(LABELS)),
        label2id={label: index for index, label in enumerate(LABELS)},
    )
    torch.manual_seed(0)
    model = ViTForImageClassification(config)
    with torch.no_grad():
        model.classifier.weight.zero_()
        bias = [5.0 if label == winner else 0.0 for label in LABELS]
        model.classifier.bias.copy_(torch.tensor(bias))
    model.save_pretrained(folder)
    ViTImageProcessor(size={"height": SIDE, "width": SIDE}).save_pretrained(folder)
    return folder
