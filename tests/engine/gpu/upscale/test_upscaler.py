"""The ``Upscaler`` facade: model choice, exact sizes, tiling, alpha, fallback and errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from imagine_bot.config import Settings
from imagine_bot.engine.errors import UserError
from imagine_bot.engine.gpu.upscale import NO_WEIGHTS_WARNING, Upscaler, WeightsError
from imagine_bot.engine.gpu.upscale import upscaler as upscaler_module
from imagine_bot.engine.gpu.upscale.loader import LoadedNet, load_upscale_net
from tests.engine.gpu.upscale.conftest import save_weights, small_rrdbnet, with_upscale


def picture(width: int, height: int, mode: str = "RGB", seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    bands = len(Image.new(mode, (1, 1)).getbands())
    pixels = rng.integers(0, 256, (height, width, bands), dtype=np.uint8)
    return Image.fromarray(pixels.squeeze(-1) if bands == 1 else pixels, mode)


def lanczos(image: Image.Image, factor: int) -> Image.Image:
    return image.resize((image.width * factor, image.height * factor), Image.Resampling.LANCZOS)


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def test_without_weights_it_is_lanczos_with_a_warning_that_says_how_to_fix_it(
    settings: Settings,
) -> None:
    source = picture(23, 17)
    for factor in (2, 4):
        image, warning = Upscaler(with_upscale(settings)).upscale(source, factor)
        assert image.size == (23 * factor, 17 * factor)
        assert np.array_equal(pixels(image), pixels(lanczos(source, factor)))
        assert warning == NO_WEIGHTS_WARNING
    assert "Lanczos" in NO_WEIGHTS_WARNING and "upscale.x2plus_weights" in NO_WEIGHTS_WARNING
    assert "RealESRGAN_x2plus.pth" in NO_WEIGHTS_WARNING


def test_the_default_settings_have_no_weights(settings: Settings) -> None:
    assert Upscaler(settings).choose_model(2) is None


@pytest.mark.parametrize("size", [(17, 11), (32, 24), (1, 1), (40, 3)])
@pytest.mark.parametrize("factor", [2, 3, 4])
def test_the_result_is_exactly_factor_times_larger(
    settings: Settings, x2plus_file: Path, size: tuple[int, int], factor: int
) -> None:
    upscaler = Upscaler(with_upscale(settings, x2plus_weights=x2plus_file))
    image, _ = upscaler.upscale(picture(*size), factor)
    assert image.size == (size[0] * factor, size[1] * factor)
    assert image.mode == "RGB"


def test_x2plus_runs_the_network_for_a_2x_upscale(settings: Settings, x2plus_file: Path) -> None:
    source = picture(20, 14)
    image, warning = Upscaler(with_upscale(settings, x2plus_weights=x2plus_file)).upscale(source, 2)
    assert warning is None
    net = small_rrdbnet(2)
    batch = torch.from_numpy(np.asarray(source).copy()).permute(2, 0, 1)[None].float() / 255
    with torch.inference_mode():
        expected = (net(batch).clamp(0, 1) * 255).round()[0].permute(1, 2, 0).numpy()
    assert np.abs(pixels(image) - expected).max() <= 1
    assert not np.array_equal(pixels(image), pixels(lanczos(source, 2)))


def test_a_4x_model_for_2x_is_reduced_with_lanczos(settings: Settings, x4plus_file: Path) -> None:
    source = picture(18, 12)
    upscaler = Upscaler(with_upscale(settings, x4plus_weights=x4plus_file, subtle_model="x4plus"))
    four, warning4 = upscaler.upscale(source, 4)
    two, warning2 = upscaler.upscale(source, 2)
    assert warning2 is None and warning4 is None
    assert two.size == (36, 24)
    expected = four.resize((36, 24), Image.Resampling.LANCZOS)
    assert np.array_equal(pixels(two), pixels(expected))


def test_only_2x_weights_for_a_4x_upscale_warns(settings: Settings, x2plus_file: Path) -> None:
    upscaler = Upscaler(with_upscale(settings, x2plus_weights=x2plus_file))
    image, warning = upscaler.upscale(picture(10, 8), 4)
    assert image.size == (40, 32)
    assert warning is not None and "Lanczos" in warning and "x4plus_weights" in warning


def test_the_subtle_model_is_preferred_and_falls_back_to_what_is_configured(
    settings: Settings, x2plus_file: Path, x4plus_file: Path, compact_file: Path
) -> None:
    every = {
        "x2plus_weights": x2plus_file,
        "x4plus_weights": x4plus_file,
        "general_x4v3_weights": compact_file,
    }

    def choice(factor: int, **values: object) -> str | None:
        return Upscaler(with_upscale(settings, **values)).choose_model(factor)

    assert choice(2, **every) == "x2plus"
    assert choice(2, **every, subtle_model="general_x4v3") == "general_x4v3"
    assert choice(4, **every) == "x4plus"
    assert choice(4, **every, subtle_model="general_x4v3") == "general_x4v3"
    assert choice(2, subtle_model="x4plus", general_x4v3_weights=compact_file) == "general_x4v3"
    assert choice(2, x4plus_weights=x4plus_file) == "x4plus"
    assert choice(4, x2plus_weights=x2plus_file) == "x2plus"


def test_tiled_equals_untiled_through_the_upscaler(
    settings: Settings, x2plus_file: Path, compact_file: Path
) -> None:
    source = picture(40, 34)  # larger than a 16-pixel tile both ways
    for model, path in (("x2plus", x2plus_file), ("general_x4v3", compact_file)):
        values = {f"{model}_weights": path, "subtle_model": model}
        whole, _ = Upscaler(with_upscale(settings, tile=0, **values)).upscale(source, 2)
        tiled, _ = Upscaler(with_upscale(settings, tile=16, tile_overlap=16, **values)).upscale(
            source, 2
        )
        difference = np.abs(pixels(tiled) - pixels(whole))
        assert difference.max() <= 1, model  # rounding to 8 bits may land either side
        assert difference.mean() < 0.01, model


def test_alpha_is_kept_and_enlarged(settings: Settings, x2plus_file: Path) -> None:
    source = picture(12, 10, "RGBA")
    image, _ = Upscaler(with_upscale(settings, x2plus_weights=x2plus_file)).upscale(source, 2)
    assert image.mode == "RGBA" and image.size == (24, 20)
    expected = source.getchannel("A").resize((24, 20), Image.Resampling.LANCZOS)
    assert np.array_equal(pixels(image.getchannel("A")), pixels(expected))


def test_grayscale_and_palette_images_are_upscaled_as_rgb(
    settings: Settings, compact_file: Path
) -> None:
    upscaler = Upscaler(with_upscale(settings, general_x4v3_weights=compact_file))
    for mode in ("L", "P"):
        image, _ = upscaler.upscale(picture(9, 7, mode), 2)
        assert (image.mode, image.size) == ("RGB", (18, 14))


def test_weights_load_once_and_stay_resident(
    settings: Settings, x2plus_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[Path] = []

    def counting(path: Path, setting: str) -> LoadedNet:
        loads.append(path)
        return load_upscale_net(path, setting)

    monkeypatch.setattr(upscaler_module, "load_upscale_net", counting)
    upscaler = Upscaler(with_upscale(settings, x2plus_weights=x2plus_file))
    assert loads == []  # nothing loads until the first upscale
    for _ in range(3):
        upscaler.upscale(picture(8, 8), 2)
    assert loads == [x2plus_file]


def test_the_network_runs_in_the_engine_dtype(settings: Settings, x2plus_file: Path) -> None:
    engine = settings.engine.model_copy(update={"dtype": "bfloat16"})
    configured = with_upscale(settings, x2plus_weights=x2plus_file)
    upscaler = Upscaler(configured.model_copy(update={"engine": engine}))
    image, _ = upscaler.upscale(picture(8, 6), 2)
    assert image.size == (16, 12)
    assert upscaler.dtype == torch.bfloat16
    assert {p.dtype for p in upscaler._nets["x2plus"].net.parameters()} == {torch.bfloat16}
    assert Upscaler(settings).dtype == torch.float32  # "auto" on the CPU


def test_a_configured_but_broken_file_is_a_user_error(settings: Settings, tmp_path: Path) -> None:
    broken = tmp_path / "RealESRGAN_x2plus.pth"
    broken.write_bytes(b"not weights")
    upscaler = Upscaler(with_upscale(settings, x2plus_weights=broken))
    with pytest.raises(WeightsError, match=r"upscale\.x2plus_weights"):
        upscaler.upscale(picture(8, 8), 2)
    missing = Upscaler(with_upscale(settings, x2plus_weights=tmp_path / "absent.pth"))
    with pytest.raises(UserError, match="does not exist"):
        missing.upscale(picture(8, 8), 2)


def test_a_wrong_factor_or_a_too_large_result_is_a_user_error(settings: Settings) -> None:
    upscaler = Upscaler(with_upscale(settings, max_pixels=100 * 100))
    for factor in (0, 1, 5, 8):
        with pytest.raises(UserError, match="use 2, 3 or 4"):
            upscaler.upscale(picture(4, 4), factor)
    with pytest.raises(UserError, match="larger than this bot allows"):
        upscaler.upscale(picture(60, 50), 2)
    assert upscaler.upscale(picture(50, 50), 2)[0].size == (100, 100)


def test_weights_written_by_the_tests_look_like_official_ones(
    x2plus_file: Path, tmp_path: Path
) -> None:
    # The fixtures must exercise the official wrapper, not a shortcut around it.
    assert set(torch.load(x2plus_file, weights_only=True)) == {"params_ema"}
    safetensors = save_weights(small_rrdbnet(2), tmp_path / "w.safetensors", "safetensors")
    assert safetensors.read_bytes()[8:9] == b"{"
