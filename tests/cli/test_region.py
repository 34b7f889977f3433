"""``imagine-bot vary-region IMAGE --mask MASK.png``: the region repainted, the rest kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagine_bot.cli.main import main
from imagine_bot.engine.images.store import PARAMETERS_KEY
from tests.cli.test_local import written

BOX = (16, 64, 112, 120)


@pytest.fixture(autouse=True)
def tiny_settings(test_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in test_env.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    path = tmp_path / "input.png"
    Image.fromarray(rng.integers(0, 255, (128, 128, 3), dtype=np.uint8), "RGB").save(path)
    return path


def mask_file(tmp_path: Path, box: tuple[int, int, int, int], size: int = 128) -> Path:
    mask = Image.new("L", (size, size), 0)
    mask.paste(255, box)
    path = tmp_path / f"mask-{size}-{box[2]}.png"
    mask.save(path)
    return path


def test_vary_region_keeps_every_pixel_outside_the_mask(
    picture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mask = mask_file(tmp_path, BOX)
    out = tmp_path / "out"
    command = ["vary-region", str(picture), "--mask", str(mask), "--prompt", "a boat", "-o"]
    assert main([*command, str(out)]) == 0
    images = written(capsys.readouterr().out, "image")
    assert len(images) == 4
    original = np.asarray(Image.open(picture).convert("RGB"))
    kept = np.asarray(Image.open(mask)) == 0
    for path in images:
        with Image.open(path) as image:
            assert image.info[PARAMETERS_KEY].splitlines()[0] == "a boat"
            pixels = np.asarray(image.convert("RGB"))
        assert np.array_equal(pixels[kept], original[kept])
        assert not np.array_equal(pixels[~kept], original[~kept])


@pytest.mark.parametrize(
    ("box", "size", "message"),
    [
        ((0, 0, 0, 0), 128, "The mask is empty"),
        ((0, 0, 128, 128), 128, "covers the whole image"),
        ((0, 0, 8, 8), 64, "64x64 pixels but the image is 128x128"),
    ],
)
def test_an_unusable_mask_is_one_line_and_exit_status_2(
    picture: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    box: tuple[int, int, int, int],
    size: int,
    message: str,
) -> None:
    mask = mask_file(tmp_path, box, size)
    assert main(["vary-region", str(picture), "--mask", str(mask)]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1


def test_a_missing_mask_file_is_named(
    picture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["vary-region", str(picture), "--mask", str(tmp_path / "none.png")]) == 2
    assert "Cannot read the mask" in capsys.readouterr().err
