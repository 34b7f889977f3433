"""Which torch device ``engine.device`` names ("auto": cuda, then mps, then the CPU), refused
with the setting to change when this torch cannot see it. Shared by the model registry and the
upscaler, which would otherwise import each other."""

from __future__ import annotations

import torch

from imagine_bot.engine.errors import UserError


def resolve_device(setting: str) -> torch.device:
    if setting != "auto":
        device = torch.device(setting)
        if not _available(device):
            raise UserError(
                f"engine.device is {setting!r}, but this torch ({torch.__version__}) sees no "
                f'such device; set engine.device to "auto" or "cpu", or install a torch '
                "build for that device."
            )
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _available(device: torch.device) -> bool:
    index = device.index or 0
    if device.type == "cuda":
        return bool(torch.cuda.is_available()) and index < torch.cuda.device_count()
    if device.type == "xpu":
        return bool(torch.xpu.is_available()) and index < torch.xpu.device_count()
    if device.type == "mps":
        return bool(torch.backends.mps.is_available())
    return True
