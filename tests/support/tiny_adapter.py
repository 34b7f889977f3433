"""The tiny IP-Adapter for tests: built once per run beside the tiny model, and the settings
(as ``IMAGINE_*`` variables) that give the ``tiny`` preset image prompts through it."""

from __future__ import annotations

from pathlib import Path

from diffusers import UNet2DConditionModel

from imagine_bot.engine.gpu.tiny import ensure_tiny_model
from tests.support.tiny_ip_adapter import WEIGHT_NAME, build_tiny_ip_adapter

STYLE_LAYER = "up_blocks.0.attentions.1.transformer_blocks.0.attn2.processor"
SUBJECT_LAYER = "down_blocks.1.attentions.0.transformer_blocks.0.attn2.processor"


def tiny_adapter(models_dir: Path) -> Path:
    """The adapter folder for the tiny model under ``models_dir``, built on first use."""
    folder = models_dir / "tiny-ip-adapter"
    if not (folder / WEIGHT_NAME).is_file():
        unet = UNet2DConditionModel.from_pretrained(ensure_tiny_model(models_dir) / "unet")
        build_tiny_ip_adapter(unet, folder)
    return folder


def adapter_env(folder: Path) -> dict[str, str]:
    """The tiny UNet has one up block with attention, of two transformers: the second is its
    style block here, as the second of the first up block is SDXL's. The subject block is the
    down block's one transformer."""
    prefix = "IMAGINE_MODELS__TINY__IP_ADAPTER__"
    return {
        prefix + "SOURCE": str(folder),
        prefix + "WEIGHT_NAME": WEIGHT_NAME,
        prefix + "STYLE_BLOCKS": "{ up = { block_0 = [0.0, 1.0] } }",
        prefix + "SUBJECT_BLOCKS": "{ down = { block_1 = [1.0] } }",
    }
