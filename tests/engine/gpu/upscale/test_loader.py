"""Weights files -> networks through the same code path official weights take."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from imagine_bot.engine.errors import UserError
from imagine_bot.engine.gpu.upscale.compact import SRVGGNetCompact
from imagine_bot.engine.gpu.upscale.loader import WeightsError, load_upscale_net
from imagine_bot.engine.gpu.upscale.rrdbnet import RRDBNet
from tests.engine.gpu.upscale.conftest import FORMATS, save_weights, small_compact, small_rrdbnet

NETS: dict[str, tuple[Callable[[], nn.Module], str, int, int]] = {
    "rrdbnet-x2": (lambda: small_rrdbnet(2), "RRDBNet", 2, 2),
    "rrdbnet-x4": (lambda: small_rrdbnet(4), "RRDBNet", 4, 1),
    "compact-x4": (small_compact, "SRVGGNetCompact", 4, 1),
}


def same_output(a: nn.Module, b: nn.Module, size: tuple[int, int] = (10, 14)) -> bool:
    x = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        return bool(torch.equal(a(x), b(x)))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", NETS)
def test_saved_weights_load_into_the_same_network(tmp_path: Path, name: str, fmt: str) -> None:
    build, architecture, scale, multiple = NETS[name]
    original = build()
    suffix = ".safetensors" if fmt == "safetensors" else ".pth"
    loaded = load_upscale_net(save_weights(original, tmp_path / f"w{suffix}", fmt))
    assert (loaded.architecture, loaded.scale, loaded.input_multiple) == (
        architecture,
        scale,
        multiple,
    )
    assert loaded.parameters == sum(p.numel() for p in original.parameters())
    assert not loaded.net.training
    assert same_output(loaded.net, original)


def test_the_format_is_read_from_the_bytes_not_the_name(tmp_path: Path) -> None:
    original = small_compact()
    path = save_weights(original, tmp_path / "named-wrong.pth", "safetensors")
    assert same_output(load_upscale_net(path).net, original)


def test_a_full_size_x4plus_checkpoint_loads(tmp_path: Path) -> None:
    torch.manual_seed(3)
    original = RRDBNet(scale=4).eval()  # num_feat 64, num_block 23, num_grow_ch 32
    loaded = load_upscale_net(save_weights(original, tmp_path / "x4plus.pth", "params_ema"))
    net = loaded.net
    assert isinstance(net, RRDBNet)
    assert (loaded.scale, len(net.body), net.conv_first.out_channels) == (4, 23, 64)
    assert net.body[0].rdb1.conv1.out_channels == 32
    assert loaded.parameters == 16_697_987
    assert same_output(net, original, size=(6, 6))


def test_a_full_size_general_x4v3_checkpoint_loads(tmp_path: Path) -> None:
    torch.manual_seed(4)
    original = SRVGGNetCompact().eval()  # num_feat 64, num_conv 32, upscale 4
    loaded = load_upscale_net(save_weights(original, tmp_path / "general.pth", "params"))
    assert (loaded.architecture, loaded.scale, loaded.parameters) == (
        "SRVGGNetCompact",
        4,
        1_213_296,
    )
    assert same_output(loaded.net, original)


def test_dataparallel_prefixes_are_dropped(tmp_path: Path) -> None:
    original = small_rrdbnet(2)
    state = {f"module.{key}": tensor for key, tensor in original.state_dict().items()}
    torch.save({"params_ema": state}, tmp_path / "dp.pth")
    assert same_output(load_upscale_net(tmp_path / "dp.pth").net, original)


def test_params_ema_wins_over_params(tmp_path: Path) -> None:
    ema, plain = small_rrdbnet(4, seed=5), small_rrdbnet(4, seed=6)
    torch.save({"params": plain.state_dict(), "params_ema": ema.state_dict()}, tmp_path / "w.pth")
    assert same_output(load_upscale_net(tmp_path / "w.pth").net, ema)


class NotWeights:
    pass


def _truncated(path: Path) -> Path:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


def _saved(payload: object) -> Callable[[Path], object]:
    return lambda path: torch.save(payload, path)


def _written(data: bytes) -> Callable[[Path], object]:
    return lambda path: path.write_bytes(data)


def _without(key: str, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {name: tensor for name, tensor in state.items() if name != key}


def _compact_with_wrong_shape(path: Path) -> None:
    state = dict(small_compact().state_dict())
    state["body.2.weight"] = torch.zeros(16, 8, 3, 3)
    save_file(state, str(path))


# case -> (file name, how to write it (None: leave it absent), what the error must say)
BAD_FILES: dict[str, tuple[str, Callable[[Path], object] | None, str]] = {
    "missing file": ("absent.pth", None, "does not exist"),
    "empty file": ("zero.pth", _written(b""), "not a readable PyTorch"),
    "an HTML error page": ("page.pth", _written(b"<html>404</html>" * 9), "not a plain"),
    "a pickled object": ("code.pth", _saved({"params": NotWeights()}), "never loaded"),
    "a bare pickle": ("raw.pth", _written(pickle.dumps(NotWeights(), 2)), "never loaded"),
    "a folder": (".", None, "cannot be read"),
    "truncated pth": (
        "cut.pth",
        lambda p: _truncated(save_weights(small_compact(), p, "params")),
        "may be truncated",
    ),
    "truncated safetensors": (
        "cut.safetensors",
        lambda p: _truncated(save_weights(small_compact(), p, "safetensors")),
        "not a readable safetensors",
    ),
    "another model": (
        "linear.pth",
        _saved({"params": nn.Linear(3, 4).state_dict()}),
        "not a Real-ESRGAN",
    ),
    "old ESRGAN layout": (
        "old.pth",
        _saved({"model.0.weight": torch.zeros(8, 3, 3, 3)}),
        "not a Real-ESRGAN",
    ),
    "missing tensor": (
        "missing.pth",
        _saved({"params_ema": _without("conv_hr.weight", small_rrdbnet(4).state_dict())}),
        "do not fit the RRDBNet",
    ),
    "wrong shape": (
        "shape.safetensors",
        _compact_with_wrong_shape,
        "do not fit the SRVGGNetCompact",
    ),
    "compact without PReLU": (
        "relu.pth",
        _saved(_without("body.3.weight", small_compact().state_dict())),
        "only the PReLU variant",
    ),
    "empty state dict": ("empty.pth", _saved({"params": {}}), "holds no state dict"),
    "tensors under no known key": ("list.pth", _saved([torch.zeros(3)]), "holds no state dict"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_unusable_files_are_a_clear_user_error(tmp_path: Path, case: str) -> None:
    name, write, says = BAD_FILES[case]
    path = tmp_path / name
    if write is not None:
        write(path)
    with pytest.raises(UserError) as caught:
        load_upscale_net(path, "upscale.x4plus_weights")
    assert isinstance(caught.value, WeightsError)
    message = str(caught.value)
    assert says in message
    assert str(path) in message and "upscale.x4plus_weights" in message
    assert "Traceback" not in message and "\n" not in message and "\x1b" not in message
    assert "weights_only=False" not in message
