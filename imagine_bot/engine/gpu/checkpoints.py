"""Loading a preset's weights: a diffusers folder or hub id, or a single-file checkpoint.

Single files (``.safetensors``/``.ckpt``, as shared on Civitai) hold only weights: diffusers'
``from_single_file`` takes the configs and tokenizers from a diffusers model of the same
architecture. With ``config`` unset it picks one on the hub from the checkpoint's layout
(``stable-diffusion-v1-5``, ``stable-diffusion-2-1``, ``stable-diffusion-xl-base-1.0``) and
needs network access, or the hub cache, once; offline, ``config`` names a local folder.
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import DiffusionPipeline, StableDiffusionPipeline, StableDiffusionXLPipeline
from safetensors import safe_open

from imagine_bot.config import ModelPreset
from imagine_bot.engine.errors import ModelUnavailable
from imagine_bot.engine.gpu.quantization import (
    QuantizationUnavailable,
    load_gguf,
    pipeline_quantization,
)

SINGLE_FILE_SUFFIXES = (".safetensors", ".ckpt")
_SDXL_KEY_PREFIX = "conditioner.embedders.1."
"""SDXL checkpoints keep their second text encoder here; SD 1.x/2.x have none."""


def is_single_file(source: str) -> bool:
    return source.lower().endswith(SINGLE_FILE_SUFFIXES)


def load_pipeline(
    name: str, preset: ModelPreset, source: str, dtype: torch.dtype
) -> DiffusionPipeline:
    """Preset ``name``'s text-to-image pipeline, from ``source`` (its resolved location),
    quantised as the preset says."""
    try:
        if preset.quantize == "gguf":
            return load_gguf(name, preset, source, dtype)
        if is_single_file(source):
            return _from_single_file(name, preset, source, dtype)
        quantization = pipeline_quantization(name, preset, dtype)
        if quantization is None:
            return DiffusionPipeline.from_pretrained(source, dtype=dtype)
        return DiffusionPipeline.from_pretrained(
            source, dtype=dtype, quantization_config=quantization
        )
    except QuantizationUnavailable as exc:
        raise ModelUnavailable(
            f"model {name!r}", source, str(exc), f"models.{name}.quantize"
        ) from exc
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(
            f"model {name!r}", source, str(exc), f"models.{name}.source"
        ) from exc


def _from_single_file(
    name: str, preset: ModelPreset, source: str, dtype: torch.dtype
) -> DiffusionPipeline:
    pipeline_class = (
        StableDiffusionXLPipeline if _is_sdxl(preset, source) else StableDiffusionPipeline
    )
    try:
        return pipeline_class.from_single_file(source, config=preset.config, torch_dtype=dtype)
    except (OSError, ValueError) as exc:
        if preset.config is not None:
            raise
        raise ModelUnavailable(
            f"model {name!r} (a single-file checkpoint)",
            source,
            f"diffusers could not fetch the configs of its architecture from the hub ({exc})",
            f"models.{name}.config (a local diffusers folder or hub id of the same "
            "architecture, such as stable-diffusion-xl-base-1.0)",
        ) from exc


def _is_sdxl(preset: ModelPreset, source: str) -> bool:
    """Whether the checkpoint is SDXL: by the preset's family, else by its keys."""
    if preset.family is not None:
        return preset.family == "sdxl"
    path = Path(source).expanduser()
    if path.suffix.lower() != ".safetensors" or not path.is_file():
        return False  # reading a .ckpt's keys would unpickle the whole file
    with safe_open(str(path), framework="pt") as checkpoint:
        return any(key.startswith(_SDXL_KEY_PREFIX) for key in checkpoint.keys())  # noqa: SIM118
