"""``engine.dtype = "fp8"``: the denoiser's linear layers in float8, through torchao.

Weights and activations are float8 (e4m3) with a scale per row, computed with the float8
tensor-core matmuls of GPUs of compute capability 8.9 or later (Ada, Hopper); everything else
stays bfloat16. That halves the transformer's weight memory and speeds its matmuls, at a small
change in the image (the GPU suite reports the difference against bfloat16).
"""

from __future__ import annotations

import importlib.util

import torch

from imagine_bot.engine.errors import UserError

MIN_CAPABILITY = (8, 9)
"""Float8 tensor cores: Ada (8.9) and Hopper (9.0) onwards."""


def check_fp8_device(device: torch.device, capability: tuple[int, int] | None) -> None:
    """Raise a ``UserError`` saying why fp8 cannot run here: no torchao, or no such GPU."""
    if importlib.util.find_spec("torchao") is None:
        raise UserError(
            'engine.dtype = "fp8" needs torchao, which is not installed; install it with '
            "pip install 'imagine-bot[fp8]', or set engine.dtype to \"auto\"."
        )
    if device.type != "cuda" or capability is None or capability < MIN_CAPABILITY:
        where = "a CPU" if device.type == "cpu" else f"{device} (compute capability {capability})"
        raise UserError(
            'engine.dtype = "fp8" needs an NVIDIA GPU of compute capability 8.9 or later (Ada, '
            f'Hopper); this engine runs on {where}. Set engine.dtype to "auto" or "bfloat16".'
        )


def quantize_fp8(denoiser: torch.nn.Module) -> None:
    """Swap ``denoiser``'s linear layers for torchao's float8 ones, in place (on its device)."""
    from torchao.quantization import (  # type: ignore[import-not-found]
        Float8DynamicActivationFloat8WeightConfig,
        PerRow,
        quantize_,
    )

    quantize_(denoiser, Float8DynamicActivationFloat8WeightConfig(granularity=PerRow()))
