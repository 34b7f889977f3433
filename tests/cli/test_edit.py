"""``imagine-bot edit IMAGE --instruction TEXT``: Edit from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from imagine_bot.cli.main import main
from imagine_bot.engine.images.store import PARAMETERS_KEY, SPEC_KEY
from tests.cli.test_local import written

pytestmark = pytest.mark.usefixtures("test_env_exported")


def test_without_an_edit_model_it_names_the_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    street = tmp_path / "street.png"
    Image.new("RGB", (96, 64), (90, 90, 90)).save(street)
    assert main(["edit", str(street), "--instruction", "make it night"]) == 2
    assert "set models.tiny.edit_model in the settings" in capsys.readouterr().err


def test_an_instruction_over_the_limit_is_refused_before_it_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    street = tmp_path / "street.png"
    Image.new("RGB", (96, 64), (90, 90, 90)).save(street)
    args = ["edit", str(street), "--instruction", "night " * 100, "--model", "tiny-flux"]
    assert main([*args, "-o", str(tmp_path / "out")]) == 2
    assert "an edit takes at most 500" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_edit_writes_four_edits_that_say_what_was_done(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    street = tmp_path / "street.png"
    Image.new("RGB", (96, 64), (90, 90, 90)).save(street)
    args = ["edit", str(street), "--instruction", "make it night", "--model", "tiny-flux"]
    assert main([*args, "-o", str(tmp_path / "out")]) == 0
    images = written(capsys.readouterr().out, "image")
    assert len(images) == 4
    with Image.open(images[0]) as image:
        assert image.width > image.height  # the picture's ratio
        spec = json.loads(image.info[SPEC_KEY])
        parameters = image.info[PARAMETERS_KEY]
    assert (spec["action"], spec["model"], spec["prompt"]) == (
        "edit",
        "tiny-flux-kontext",
        "make it night",
    )
    assert spec["source"]["sha256"] and parameters.startswith("make it night\n")
    assert "Edit images: 1" in parameters
