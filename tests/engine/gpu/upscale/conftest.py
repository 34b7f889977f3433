"""Small randomly initialised Real-ESRGAN networks, saved the ways official weights come."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from imagine_bot.config import Settings
from imagine_bot.config.settings import UpscaleSettings
from imagine_bot.engine.gpu.upscale.compact import SRVGGNetCompact
from imagine_bot.engine.gpu.upscale.rrdbnet import RRDBNet

# Official checkpoints wrap their state dict like this (x4plus/x2plus: params_ema,
# general-x4v3: params); "bare" is a plain state dict; safetensors has no wrapper.
FORMATS = ("params_ema", "params", "bare", "safetensors")


def small_rrdbnet(scale: int, seed: int = 1) -> RRDBNet:
    torch.manual_seed(seed)
    net = RRDBNet(scale=scale, num_feat=16, num_block=1, num_grow_ch=8)
    # Random weights leave the output near 0, where clamping to [0, 1] would hide most of it.
    nn.init.constant_(net.conv_last.bias, 0.5)
    net.eval()
    return net


def small_compact(seed: int = 2) -> SRVGGNetCompact:
    torch.manual_seed(seed)
    net = SRVGGNetCompact(num_feat=16, num_conv=3, upscale=4)
    net.eval()
    return net


def save_weights(net: nn.Module, path: Path, fmt: str) -> Path:
    state = {key: tensor.detach().clone() for key, tensor in net.state_dict().items()}
    if fmt == "safetensors":
        save_file(state, str(path))
    else:
        payload: Any = state if fmt == "bare" else {fmt: state}
        torch.save(payload, path)
    return path


def with_upscale(settings: Settings, **values: Any) -> Settings:
    """``settings`` with ``[upscale]`` built from ``values`` (validated like a file's)."""
    upscale = UpscaleSettings.model_validate({"tile": 16, "tile_overlap": 8, **values})
    return settings.model_copy(update={"upscale": upscale})


@pytest.fixture(scope="session")
def weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("upscale-weights")


@pytest.fixture(scope="session")
def x2plus_file(weights_dir: Path) -> Path:
    return save_weights(small_rrdbnet(2), weights_dir / "x2plus.pth", "params_ema")


@pytest.fixture(scope="session")
def x4plus_file(weights_dir: Path) -> Path:
    return save_weights(small_rrdbnet(4), weights_dir / "x4plus.pth", "params_ema")


@pytest.fixture(scope="session")
def compact_file(weights_dir: Path) -> Path:
    return save_weights(small_compact(), weights_dir / "general.pth", "params")
