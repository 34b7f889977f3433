"""The two networks have the official checkpoints' layout and compute what they should."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from imagine_bot.engine.gpu.upscale.compact import SRVGGNetCompact
from imagine_bot.engine.gpu.upscale.rrdbnet import RRDBNet


def shapes(net: nn.Module) -> dict[str, tuple[int, ...]]:
    return {key: tuple(tensor.shape) for key, tensor in net.state_dict().items()}


def test_rrdbnet_x4plus_has_the_official_layout() -> None:
    layout = shapes(RRDBNet(scale=4))
    # 23 blocks x 3 dense blocks x 5 convolutions, plus 6 convolutions around them.
    assert len(layout) == 2 * (23 * 3 * 5 + 6)
    assert layout["conv_first.weight"] == (64, 3, 3, 3)
    assert layout["body.0.rdb1.conv1.weight"] == (32, 64, 3, 3)
    assert layout["body.22.rdb3.conv5.weight"] == (64, 192, 3, 3)
    assert layout["body.22.rdb3.conv5.bias"] == (64,)
    for name in ("conv_body", "conv_up1", "conv_up2", "conv_hr"):
        assert layout[f"{name}.weight"] == (64, 64, 3, 3)
    assert layout["conv_last.weight"] == (3, 64, 3, 3)
    # RealESRGAN_x4plus.pth holds 16,697,987 parameters.
    assert sum(p.numel() for p in RRDBNet(scale=4).parameters()) == 16_697_987


def test_rrdbnet_x2plus_folds_pixels_into_the_first_convolution() -> None:
    layout = shapes(RRDBNet(scale=2))
    assert layout["conv_first.weight"] == (64, 12, 3, 3)
    assert set(layout) == set(shapes(RRDBNet(scale=4)))


def test_pixel_unshuffle_orders_channels_as_the_official_weights_expect() -> None:
    # Official x2plus: channel c*4 + dy*2 + dx holds pixel (2y+dy, 2x+dx) of channel c.
    x = torch.arange(2 * 4 * 6, dtype=torch.float32).reshape(1, 2, 4, 6)
    expected = x.view(1, 2, 2, 2, 3, 2).permute(0, 1, 3, 5, 2, 4).reshape(1, 8, 2, 3)
    assert torch.equal(torch.nn.functional.pixel_unshuffle(x, 2), expected)


@pytest.mark.parametrize("scale", [2, 4])
def test_rrdbnet_output_is_scale_times_larger(scale: int) -> None:
    net = RRDBNet(scale=scale, num_feat=8, num_block=1, num_grow_ch=4).eval()
    with torch.inference_mode():
        out = net(torch.rand(1, 3, 6, 10))
    assert out.shape == (1, 3, 6 * scale, 10 * scale)


def test_rrdbnet_refuses_other_scales() -> None:
    with pytest.raises(ValueError, match="2 or 4"):
        RRDBNet(scale=3)


def test_compact_general_x4v3_has_the_official_layout() -> None:
    layout = shapes(SRVGGNetCompact())
    assert layout["body.0.weight"] == (64, 3, 3, 3)
    assert layout["body.1.weight"] == (64,)  # PReLU, one slope per channel
    assert layout["body.64.weight"] == (64, 64, 3, 3)
    assert layout["body.65.weight"] == (64,)
    assert layout["body.66.weight"] == (48, 64, 3, 3)  # 3 channels x 4 x 4 sub-pixels
    assert "body.67.weight" not in layout
    assert sum(p.numel() for p in SRVGGNetCompact().parameters()) == 1_213_296


def test_compact_learns_a_residual_over_nearest_neighbour() -> None:
    net = SRVGGNetCompact(num_feat=8, num_conv=2, upscale=4).eval()
    nn.init.zeros_(net.body[-1].weight)
    nn.init.zeros_(net.body[-1].bias)
    x = torch.rand(1, 3, 5, 7)
    with torch.inference_mode():
        out = net(x)
    nearest = x.repeat_interleave(4, dim=2).repeat_interleave(4, dim=3)
    assert torch.equal(out, nearest)
    # ...and the sub-pixel layer lays channel c*16 + dy*4 + dx at pixel (4y+dy, 4x+dx).
    with torch.no_grad():
        net.body[-1].bias[0 * 16 + 1 * 4 + 2] = 1.0
    with torch.inference_mode():
        moved = net(x) - nearest
    # (x + 1) - x is 1 only up to float rounding
    assert moved[0, 0, 1, 2].item() == pytest.approx(1.0)
    assert moved[0, 0, 5, 6].item() == pytest.approx(1.0)
    assert moved.abs().sum().item() == pytest.approx(5 * 7)
