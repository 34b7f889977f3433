"""Content-addressed image storage."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PIL import Image

from imagine_bot.engine.images.store import PARAMETERS_KEY, ImageStore


def test_images_are_stored_once_under_the_hash_of_their_bytes(tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    image = Image.new("RGB", (8, 4), (10, 20, 30))
    first = store.put(image, "a fox\nSeed: 1")
    second = store.put(image.copy(), "a fox\nSeed: 1")
    assert first == second
    assert hashlib.sha256(first.path.read_bytes()).hexdigest() == first.sha256
    assert first.path == tmp_path / first.sha256[:2] / f"{first.sha256}.png"
    assert (first.width, first.height) == (8, 4)
    assert store.open(first.sha256).getpixel((0, 0)) == (10, 20, 30)
    with Image.open(first.path) as stored:
        assert stored.info[PARAMETERS_KEY] == "a fox\nSeed: 1"
    assert len(list(tmp_path.rglob("*"))) == 2  # one folder, one file, no temporaries


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ab", "G" * 64])
def test_only_real_hashes_name_files(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="sha256"):
        ImageStore(tmp_path).path(bad)
