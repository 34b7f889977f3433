"""``imagine-bot upscale | vary | zoom | pan IMAGE``: the buttons' stages from the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagine_bot.cli.main import main
from imagine_bot.engine.images.store import PARAMETERS_KEY, png_bytes

SCRIPT = Path(sys.executable).parent / "imagine-bot"


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    """A 128x128 PNG with a prompt saved in it, as imagine-bot writes them."""
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 255, (128, 128, 3), dtype=np.uint8), "RGB")
    path = tmp_path / "input.png"
    path.write_bytes(png_bytes(image, "a stone bridge\nSteps: 4, Seed: 1"))
    return path


def written(output: str, kind: str) -> list[Path]:
    return [Path(line.split()[1]) for line in output.splitlines() if line.startswith(kind + ":")]


def test_pan_runs_from_the_installed_command(
    test_env: dict[str, str], picture: Path, tmp_path: Path
) -> None:
    done = subprocess.run(
        [str(SCRIPT), "pan", str(picture), "right", "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env={**os.environ, **test_env},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    images = written(done.stdout, "image")
    assert len(images) == 4 and len(written(done.stdout, "grid")) == 1
    original = np.asarray(Image.open(picture), dtype=np.float32)
    for path in images:
        with Image.open(path) as image:
            assert image.size == (192, 128)
            assert image.info[PARAMETERS_KEY].splitlines()[0] == "a stone bridge"
            kept = np.asarray(image.convert("RGB"), dtype=np.float32)[:, :100]
        assert np.array_equal(kept, original[:, :100])


@pytest.mark.usefixtures("test_env_exported")
def test_vary_and_zoom_in_process(
    picture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["vary", str(picture), "--strong", "-o", str(tmp_path / "vary")]) == 0
    images = written(capsys.readouterr().out, "image")
    assert [Image.open(path).size for path in images] == [(128, 128)] * 4

    assert main(["zoom", str(picture), "--by", "square", "-o", str(tmp_path / "z")]) == 2
    assert "Make Square is not available" in capsys.readouterr().err  # it is square already

    wide = tmp_path / "wide.png"
    Image.open(picture).resize((192, 128)).save(wide)
    assert (
        main(["zoom", str(wide), "--by", "1.5", "--prompt", "a bridge", "-o", str(tmp_path)]) == 0
    )
    images = written(capsys.readouterr().out, "image")
    assert len(images) == 4
    for path in images:
        width, height = Image.open(path).size
        assert width % 64 == 0 and height % 64 == 0 and width * height <= 192 * 128


@pytest.mark.usefixtures("test_env_exported")
def test_a_file_that_is_no_image_is_a_plain_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    assert main(["vary", str(text)]) == 2
    assert "is not a PNG, JPEG, WebP or GIF image" in capsys.readouterr().err
