"""``quantize``: diffusers' quantization configs, built for the denoiser, checked at load."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
import torch
from diffusers import TorchAoConfig
from pydantic import ValidationError

from imagine_bot.config import ModelPreset
from imagine_bot.engine.gpu import quantization
from imagine_bot.engine.gpu.quantization import QuantizationUnavailable, pipeline_quantization


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every quantisation library present (CI has none): only the config is built here."""
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return object() if name in quantization.PACKAGES.values() else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def preset(**fields: Any) -> ModelPreset:
    return ModelPreset(source="black-forest-labs/FLUX.1-dev", family="flux1", **fields)


@pytest.mark.usefixtures("installed")
def test_nf4_is_bitsandbytes_4bit_nf4_on_the_transformer() -> None:
    config = pipeline_quantization("flux", preset(quantize="nf4"), torch.bfloat16)
    assert config is not None
    assert config.quant_backend == "bitsandbytes_4bit"
    assert config.quant_kwargs == {
        "load_in_4bit": True,
        "bnb_4bit_quant_type": "nf4",
        "bnb_4bit_compute_dtype": torch.bfloat16,
    }
    assert config.components_to_quantize == ["transformer"]


class RecordedTorchAoConfig(TorchAoConfig):  # type: ignore[misc]
    """diffusers' ``TorchAoConfig``, without its check for torchao as it is made."""

    def __init__(self, quant_type: str) -> None:
        self.quant_type = quant_type


@pytest.mark.usefixtures("installed")
def test_fp8_is_torchao_float8_weights_and_sdxl_quantises_its_unet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(quantization, "TorchAoConfig", RecordedTorchAoConfig)
    sdxl = ModelPreset(source="stabilityai/sdxl", family="sdxl", quantize="fp8")
    config = pipeline_quantization("sdxl", sdxl, torch.float16)
    assert config is not None
    (component,) = config.quant_mapping
    assert component == "unet"
    assert config.quant_mapping["unet"].quant_type == "float8wo_e4m3"


def test_no_quantize_is_no_config() -> None:
    assert pipeline_quantization("flux", preset(), torch.bfloat16) is None


def test_a_missing_library_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None)
    with pytest.raises(QuantizationUnavailable, match="pip install bitsandbytes"):
        pipeline_quantization("flux", preset(quantize="nf4"), torch.bfloat16)


def test_the_settings_refuse_what_cannot_load() -> None:
    with pytest.raises(ValidationError, match="needs family"):
        ModelPreset(source="x/y", quantize="nf4")
    with pytest.raises(ValidationError, match=r"needs a \.gguf file"):
        preset(quantize="gguf")
    gguf = ModelPreset(
        source="/m/flux1-dev-Q8_0.gguf", config="black-forest-labs/FLUX.1-dev", family="flux1",
        quantize="gguf",
    )  # fmt: skip
    assert gguf.quantize == "gguf"
