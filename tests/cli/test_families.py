"""The command line on the tiny model of every family: a grid, the same pixels for the same
seed, and every button's action (vary, zoom, vary-region, upscale creative) with ``--model``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagine_bot.cli.main import main
from tests.cli.test_local import written

TINY_FAMILIES = ["tiny-sd3", "tiny-flux", "tiny-flux2", "tiny-zimage", "tiny-qwen-image"]


@pytest.fixture(autouse=True)
def tiny_settings(test_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in test_env.items():
        monkeypatch.setenv(key, value)


def imagine(model: str, out: Path, capsys: pytest.CaptureFixture[str]) -> list[Path]:
    assert (
        main(["imagine", "a lighthouse --ar 3:2 --seed 7", "--model", model, "-o", str(out)]) == 0
    )
    return written(capsys.readouterr().out, "image")


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


@pytest.mark.slow
@pytest.mark.parametrize("model", TINY_FAMILIES)
def test_imagine_is_a_grid_of_four_and_the_same_seed_gives_the_same_pixels(
    model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = imagine(model, tmp_path / "a", capsys)
    second = imagine(model, tmp_path / "b", capsys)
    assert len(first) == len(second) == 4
    with Image.open(first[0]) as image:
        width, height = image.size
    assert width > height  # --ar 3:2
    assert (tmp_path / "a").glob("*_grid.png")
    for a, b in zip(first, second, strict=True):
        assert np.array_equal(pixels(a), pixels(b))
    assert not np.array_equal(pixels(first[0]), pixels(first[1]))  # four seeds, four images
    assert all(pixels(path).any() for path in first)  # nothing black was delivered


@pytest.mark.slow
@pytest.mark.parametrize("model", TINY_FAMILIES)
def test_every_action_runs_on_the_family(
    model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = imagine(model, tmp_path / "grid", capsys)[0]
    mask = tmp_path / "mask.png"
    with Image.open(source) as image:
        region = Image.new("L", image.size, 0)
    region.paste(255, (8, 8, region.width // 2, region.height // 2))
    region.save(mask)
    actions = [
        ["vary", str(source), "--strong"],
        ["zoom", str(source), "--by", "1.5"],
        ["vary-region", str(source), "--mask", str(mask), "--prompt", "a boat"],
        ["upscale", str(source), "--creative"],
    ]
    for action in actions:
        out = tmp_path / action[0]
        assert main([*action, "--model", model, "-o", str(out)]) == 0, action[0]
        made = written(capsys.readouterr().out, "image")
        assert made, action[0]
        assert all(pixels(path).any() for path in made)
        if action[0] == "vary":  # at the source's size, not the pipeline's default
            with Image.open(made[0]) as varied, Image.open(source) as original:
                assert varied.size == original.size


def test_draft_on_tiny_flux_runs_its_schnell_like_draft_preset(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["parse", "a fox --draft", "--model", "tiny-flux", "--json"]) == 0
    (job,) = json.loads(capsys.readouterr().out)
    assert (job["model"], job["steps"], job["guidance"]) == ("tiny-flux-draft", 2, 0.0)
