"""Stored images are readable by the host's users (a container's /data volume), not 0600."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from PIL import Image

from imagine_bot.engine.images.store import ImageStore, write_atomically


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_stored_images_follow_the_umask_like_any_new_file(tmp_path: Path) -> None:
    stored = ImageStore(tmp_path / "store").put(Image.new("RGB", (8, 8), (1, 2, 3)))
    plain = tmp_path / "plain"
    plain.write_bytes(b"x")
    mode = stat.S_IMODE(stored.path.stat().st_mode)
    assert mode == stat.S_IMODE(plain.stat().st_mode) == 0o666 & ~current_umask()
    assert mode & stat.S_IROTH, "the usual umask 022 leaves images world-readable"


def test_an_atomic_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "image.png"
    write_atomically(target, b"data")
    assert [path.name for path in tmp_path.iterdir()] == ["image.png"]
    assert target.read_bytes() == b"data"
