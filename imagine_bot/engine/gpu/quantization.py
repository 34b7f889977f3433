"""Loading a preset's denoiser quantised (``quantize``), through diffusers' own configs.

- ``nf4``: bitsandbytes 4-bit NormalFloat (``BitsAndBytesConfig``), about a quarter of the
  bfloat16 weights; CUDA only.
- ``fp8``: torchao's float8 weight-only (``TorchAoConfig("float8wo_e4m3")``), half of them.
- ``gguf``: a ``.gguf`` single file of the transformer (city96's FLUX quantisations and the
  like) read with ``GGUFQuantizationConfig``; the rest of the pipeline from ``config``.

Only the denoiser is quantised: it holds most of the weights, and the text encoders are
offloaded after encoding anyway. The libraries are optional; asking for one that is missing
is a clear error at load, naming the package to install.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import torch
from diffusers import (
    DiffusionPipeline,
    GGUFQuantizationConfig,
    PipelineQuantizationConfig,
    TorchAoConfig,
)

from imagine_bot.config import ModelPreset
from imagine_bot.config.settings import Quantization
from imagine_bot.engine.gpu.families import Family, family_named

PACKAGES: dict[Quantization, str] = {"nf4": "bitsandbytes", "fp8": "torchao", "gguf": "gguf"}
"""The Python package each quantisation runs on (none is a dependency of the bot)."""


class QuantizationUnavailable(RuntimeError):
    """The preset asks for a quantisation whose library is not installed."""

    def __init__(self, name: str, quantize: Quantization) -> None:
        package = PACKAGES[quantize]
        super().__init__(
            f'models.{name}.quantize = "{quantize}" needs the {package} package, which is not '
            f"installed: pip install {package} (or remove quantize)"
        )
        self.package = package


def preset_family(name: str, preset: ModelPreset) -> Family:
    family = family_named(preset.family or "")
    if family is None:  # the settings refuse quantize without a family
        raise ValueError(f"models.{name}.quantize needs models.{name}.family")
    return family


def denoiser_name(family: Family) -> str:
    """The pipeline component that denoises: ``transformer``, or ``unet`` for SD 1/2/XL."""
    components = family.text_to_image._get_signature_types()
    return "transformer" if "transformer" in components else "unet"


def pipeline_quantization(
    name: str, preset: ModelPreset, dtype: torch.dtype
) -> PipelineQuantizationConfig | None:
    """The ``quantization_config`` for ``from_pretrained`` (None for none, and for ``gguf``,
    which is loaded by ``load_gguf``)."""
    quantize = preset.quantize
    if quantize is None or quantize == "gguf":
        return None
    require(name, quantize)
    component = denoiser_name(preset_family(name, preset))
    if quantize == "fp8":
        # torchao's config differs between diffusers and transformers, so by component.
        return PipelineQuantizationConfig(quant_mapping={component: TorchAoConfig("float8wo_e4m3")})
    nf4: dict[str, Any] = {
        "load_in_4bit": True,
        "bnb_4bit_quant_type": "nf4",
        "bnb_4bit_compute_dtype": dtype,
    }
    return PipelineQuantizationConfig(
        quant_backend="bitsandbytes_4bit", quant_kwargs=nf4, components_to_quantize=[component]
    )


def load_gguf(name: str, preset: ModelPreset, source: str, dtype: torch.dtype) -> DiffusionPipeline:
    """A pipeline whose transformer is the GGUF file ``source``, the rest from ``config``."""
    require(name, "gguf")
    family = preset_family(name, preset)
    pipeline_class = family.text_to_image
    transformer_class = pipeline_class._get_signature_types()["transformer"][0]
    transformer = transformer_class.from_single_file(
        source,
        quantization_config=GGUFQuantizationConfig(compute_dtype=dtype),
        config=preset.config,
        subfolder="transformer",
        torch_dtype=dtype,
    )
    pipeline: DiffusionPipeline = pipeline_class.from_pretrained(
        preset.config, transformer=transformer, torch_dtype=dtype
    )
    return pipeline


def require(name: str, quantize: Quantization) -> None:
    if importlib.util.find_spec(PACKAGES[quantize]) is None:
        raise QuantizationUnavailable(name, quantize)
