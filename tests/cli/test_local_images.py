"""``imagine-bot imagine/parse --image PATH --sref PATH``: local files as image prompts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from imagine_bot.config import Settings
from imagine_bot.engine.images.store import ImageStore
from tests.support.tiny_adapter import adapter_env, tiny_adapter

SCRIPT = Path(sys.executable).parent / "imagine-bot"


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=300
    )


@pytest.fixture
def pictures(tmp_path: Path) -> tuple[Path, Path]:
    photo, style = tmp_path / "photo.jpg", tmp_path / "style.png"
    Image.new("RGB", (120, 80), (200, 100, 50)).save(photo, "JPEG")
    Image.new("RGBA", (60, 60), (20, 40, 200, 255)).save(style, "PNG")
    return photo, style


@pytest.fixture
def adapter(test_env: dict[str, str], settings: Settings) -> dict[str, str]:
    small = {"IMAGINE_MODELS__TINY__RESOLUTION": "64", "IMAGINE_MODELS__TINY__STEPS": "2"}
    return {**test_env, **small, **adapter_env(tiny_adapter(settings.paths.models))}


def test_parse_stores_the_files_and_shows_their_roles(
    adapter: dict[str, str], settings: Settings, pictures: tuple[Path, Path]
) -> None:
    photo, style = pictures
    done = run(
        "parse", "a fox --iw 2 --sw 400", "--image", str(photo), "--sref", f"{style}::2",
        "--json", env=adapter,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (job,) = json.loads(done.stdout)
    refs = job["references"]
    assert [(ref["role"], ref["source"], ref["weight"]) for ref in refs] == [
        ("image", "photo.jpg", 1.0),
        ("style", "style.png", 2.0),
    ]
    assert job["reference_scales"] == {"image": 1.0, "style": 2.0}
    store = ImageStore(settings.paths.store)
    assert all(store.path(ref["sha256"]).is_file() for ref in refs)


@pytest.mark.slow
def test_imagine_runs_with_an_image_prompt_and_a_style_reference(
    adapter: dict[str, str], pictures: tuple[Path, Path], tmp_path: Path
) -> None:
    photo, style = pictures
    args = ("a fox --seed 2", "-o", str(tmp_path / "out"))
    done = run("imagine", *args, "--image", str(photo), "--sref", str(style), env=adapter)
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr
    plain = run("imagine", *args, env=adapter)
    assert plain.returncode == 0, plain.stderr
    with_images, without = (
        Path(result.stdout.splitlines()[1].split(maxsplit=1)[1]) for result in (done, plain)
    )
    with Image.open(with_images) as a, Image.open(without) as b:
        assert a.size == b.size and a.tobytes() != b.tobytes()


def test_without_an_adapter_the_files_are_accepted_with_a_warning(
    test_env: dict[str, str], pictures: tuple[Path, Path]
) -> None:
    done = run("parse", "a fox", "--image", str(pictures[0]), env=test_env)
    assert done.returncode == 0, done.stderr
    assert "warning: The model 'tiny' has no image-prompt adapter" in done.stderr


def test_a_file_that_is_no_image_is_a_clear_error(test_env: dict[str, str], tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    done = run("parse", "a fox", "--sref", str(notes), env=test_env)
    assert done.returncode == 2
    assert "notes.txt is not a PNG, JPEG, WebP or GIF image" in done.stderr
    assert "Traceback" not in done.stderr
    missing = run("parse", "a fox", "--image", str(tmp_path / "gone.png"), env=test_env)
    assert missing.returncode == 2 and "gone.png: no such file" in missing.stderr
