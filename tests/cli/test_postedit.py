"""``imagine-bot hd | fix-faces IMAGE``: Rerun as HD and Fix Faces from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagine_bot.cli.main import main
from imagine_bot.config import Settings
from imagine_bot.engine.images.store import PARAMETERS_KEY, SPEC_KEY, png_bytes
from tests.cli.test_local import written
from tests.support.faces import drawn_face
from tests.support.tiny_structure import structure_env


@pytest.mark.usefixtures("test_env_exported")
def test_hd_and_fix_faces_run_on_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    face = tmp_path / "face.png"
    face.write_bytes(png_bytes(drawn_face((128, 128)), "a portrait\nSteps: 4, Seed: 1"))

    assert main(["hd", str(face), "-o", str(tmp_path / "hd")]) == 0
    (path,) = written(capsys.readouterr().out, "image")
    with Image.open(path) as image:
        assert image.size == (256, 256)
        assert "Hires upscale: 2" in image.info[PARAMETERS_KEY]

    assert main(["fix-faces", str(face), "-o", str(tmp_path / "fix")]) == 0
    (path,) = written(capsys.readouterr().out, "image")
    with Image.open(path) as image:
        assert image.size == (128, 128)
        assert json.loads(image.info[SPEC_KEY])["fix"] == "faces"
        fixed = np.asarray(image.convert("RGB"))
    assert not np.array_equal(fixed, np.asarray(drawn_face((128, 128))))


@pytest.mark.usefixtures("test_env_exported")
def test_fix_faces_on_a_picture_without_one_is_a_plain_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "sky.png"
    Image.new("RGB", (128, 128), (90, 140, 220)).save(plain)
    assert main(["fix-faces", str(plain), "-o", str(tmp_path)]) == 2
    assert "No faces were found in this picture" in capsys.readouterr().err


def test_retexture_runs_on_a_file(
    test_env: dict[str, str],
    settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in {**test_env, **structure_env(settings.paths.models)}.items():
        monkeypatch.setenv(key, value)
    face = tmp_path / "face.png"
    drawn_face((192, 128), (100, 20, 164, 100)).save(face)
    args = ["retexture", str(face), "--prompt", "a bronze statue", "-o", str(tmp_path / "r")]
    assert main(args) == 0
    images = written(capsys.readouterr().out, "image")
    assert len(images) == 4
    with Image.open(images[0]) as image:
        assert image.size == (192, 128)
        spec = json.loads(image.info[SPEC_KEY])
    assert spec["action"] == "retexture" and spec["structure"]["sha256"]
