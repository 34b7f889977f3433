"""Weight files -> a ready network, the architecture read from the tensors themselves.

Accepts the official Real-ESRGAN releases as they are downloaded: PyTorch ``.pth`` files (read
with ``weights_only=True``, so a file can never run code) and ``.safetensors``; the state dict
may sit under ``params_ema`` (x4plus, x2plus), ``params`` (general-x4v3) or be bare. The format
is recognised from the file's first bytes, not its name. Every way a file can be wrong ends in
a ``UserError`` that names the file and the setting to check.
"""

from __future__ import annotations

import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file
from torch import nn

from imagine_bot.engine.errors import UserError
from imagine_bot.engine.gpu.upscale.compact import SRVGGNetCompact
from imagine_bot.engine.gpu.upscale.rrdbnet import RRDBNet

StateDict = dict[str, torch.Tensor]
_WRAPPERS = ("params_ema", "params", "state_dict")
_RRDB_BLOCK = re.compile(r"body\.(\d+)\.rdb1\.conv1\.weight")
_COMPACT_LAYER = re.compile(r"body\.(\d+)\.weight")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class WeightsError(UserError):
    """A weights file that cannot be used; the message says which file and why."""


@dataclass(frozen=True)
class LoadedNet:
    """A network with its weights, in eval mode, on the CPU in the file's dtype."""

    net: nn.Module
    architecture: str  # "RRDBNet" or "SRVGGNetCompact"
    scale: int
    # Input sides must be multiples of this (x2plus folds 2x2 pixels into channels).
    input_multiple: int
    parameters: int


def load_upscale_net(path: Path, setting: str = "the upscale settings") -> LoadedNet:
    """Read ``path``, recognise the network and build it with those weights.

    ``setting`` names the settings key the path came from, for the error messages.
    """
    state = unwrap_state_dict(read_weights(path, setting), path, setting)
    # Built without storage, then given the file's tensors: no random initialisation of
    # millions of parameters only to overwrite them.
    with torch.device("meta"):
        net = build_net(state, path, setting)
    try:
        net.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as exc:
        raise WeightsError(
            f"The upscaler weights {path} do not fit the {type(net).__name__} network they "
            f"look like ({_first_line(exc)}). Check {setting}: it must name an official "
            "Real-ESRGAN weights file."
        ) from None
    net.eval().requires_grad_(False)
    return LoadedNet(
        net=net,
        architecture=type(net).__name__,
        scale=net.scale,
        input_multiple=net.input_multiple,
        parameters=sum(tensor.numel() for tensor in net.parameters()),
    )


def read_weights(path: Path, setting: str = "the upscale settings") -> Any:
    """The object stored in a ``.pth`` or ``.safetensors`` file, tensors on the CPU."""
    try:
        with path.open("rb") as file:
            head = file.read(9)
    except FileNotFoundError:
        raise WeightsError(
            f"The upscaler weights file {path} does not exist. Check {setting}."
        ) from None
    except OSError as exc:
        raise WeightsError(
            f"The upscaler weights file {path} cannot be read ({exc.strerror}). Check {setting}."
        ) from None
    # A safetensors file starts with an 8-byte header length, then the JSON header.
    is_safetensors = len(head) == 9 and head[8:9] == b"{"
    try:
        if is_safetensors:
            return load_file(path, device="cpu")
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # torch's own message here suggests weights_only=False, which would run the file's code.
        raise WeightsError(
            f"The upscaler weights file {path} is not a plain PyTorch weights file: it is "
            "something else, or holds Python objects besides tensors, which are never loaded "
            f"because they could run code. Download it again and check {setting}."
        ) from None
    except Exception as exc:
        # A damaged file fails in whichever layer meets the damage first (zip, JSON header,
        # tensor storage), each with its own exception type; all mean the same here.
        kind = "safetensors" if is_safetensors else "PyTorch"
        raise WeightsError(
            f"The upscaler weights file {path} is not a readable {kind} weights file "
            f"({_first_line(exc)}). It may be truncated or something else entirely: download "
            f"it again and check {setting}."
        ) from None


def unwrap_state_dict(loaded: Any, path: Path, setting: str = "the upscale settings") -> StateDict:
    """The tensors of a checkpoint, whichever of the usual wrappers holds them."""
    state = loaded
    if isinstance(state, dict):
        for key in _WRAPPERS:
            if isinstance(state.get(key), dict):
                state = state[key]
                break
    if not isinstance(state, dict) or not state:
        raise WeightsError(
            f"The upscaler weights file {path} holds no state dict. Check {setting}."
        )
    if not all(isinstance(key, str) and torch.is_tensor(v) for key, v in state.items()):
        raise WeightsError(
            f"The upscaler weights file {path} holds something other than a state dict of "
            f"tensors. Check {setting}."
        )
    # Checkpoints saved from DataParallel prefix every key.
    if all(key.startswith("module.") for key in state):
        state = {key.removeprefix("module."): tensor for key, tensor in state.items()}
    return state


def build_net(state: StateDict, path: Path, setting: str = "the upscale settings") -> nn.Module:
    """An untrained network of the architecture and size that ``state`` describes."""
    try:
        if "conv_first.weight" in state and "body.0.rdb1.conv1.weight" in state:
            return _rrdbnet_for(state)
        if "body.0.weight" in state and "conv_first.weight" not in state:
            return _compact_for(state)
    except (KeyError, ValueError) as exc:
        raise WeightsError(
            f"The upscaler weights file {path} looks like Real-ESRGAN but its shapes are not "
            f"ones this project supports ({exc}). Check {setting}."
        ) from None
    sample = ", ".join(sorted(state)[:4])
    raise WeightsError(
        f"The upscaler weights file {path} is not a Real-ESRGAN RRDBNet (x4plus, x2plus) or "
        f"SRVGGNetCompact (general-x4v3) model (its first keys: {sample}). Check {setting}."
    )


def _rrdbnet_for(state: StateDict) -> RRDBNet:
    first = state["conv_first.weight"]
    out_ch = state["conv_last.weight"].shape[0]
    blocks = {int(m.group(1)) for key in state if (m := _RRDB_BLOCK.fullmatch(key))}
    if out_ch != 3:
        raise ValueError(f"{out_ch} output channels, not RGB")
    # The first convolution sees 3 channels at 4x, 12 (2x2 pixels folded) at 2x.
    scale = {3: 4, 12: 2}.get(first.shape[1])
    if scale is None:
        raise ValueError(f"conv_first takes {first.shape[1]} channels, not 3 (x4) or 12 (x2)")
    return RRDBNet(
        scale=scale,
        num_feat=first.shape[0],
        num_block=max(blocks) + 1,
        num_grow_ch=state["body.0.rdb1.conv1.weight"].shape[0],
    )


def _compact_for(state: StateDict) -> SRVGGNetCompact:
    layers = sorted(int(m.group(1)) for key in state if (m := _COMPACT_LAYER.fullmatch(key)))
    last = layers[-1]
    # body: conv, prelu, then (conv, prelu) x num_conv, then the sub-pixel conv.
    if layers != list(range(last + 1)) or last % 2:
        raise ValueError("only the PReLU variant (general-x4v3, animevideov3) is supported")
    first = state["body.0.weight"]
    if first.shape[1] != 3:
        raise ValueError(f"{first.shape[1]} input channels, not RGB")
    subpixels = state[f"body.{last}.weight"].shape[0]
    upscale = round((subpixels / 3) ** 0.5)
    if upscale < 2 or 3 * upscale * upscale != subpixels:
        raise ValueError(f"the last layer's {subpixels} channels are not 3 x an upscale squared")
    return SRVGGNetCompact(num_feat=first.shape[0], num_conv=(last - 2) // 2, upscale=upscale)


def _first_line(exc: BaseException) -> str:
    text = _ANSI.sub("", str(exc)).strip() or type(exc).__name__
    return text.splitlines()[0][:200]
