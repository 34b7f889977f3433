"""Fix Faces' detector: OpenCV's frontal-face cascade finds a drawn face, and nothing else."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from imagine_bot.engine.images.detectors import find_faces
from tests.support.faces import drawn_face


@pytest.mark.parametrize(
    ("size", "box"), [((128, 128), (32, 24, 96, 104)), ((320, 200), (180, 40, 260, 140))]
)
def test_the_cascade_finds_a_drawn_face(
    size: tuple[int, int], box: tuple[int, int, int, int]
) -> None:
    (found,) = find_faces(drawn_face(size, box), min_side=24)
    # the cascade's square sits on the drawn face
    centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    assert found.left < centre[0] < found.right and found.top < centre[1] < found.bottom
    assert 0.6 < found.width / (box[2] - box[0]) < 1.6


def test_no_face_in_noise_or_a_plain_picture() -> None:
    noise = np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    assert find_faces(Image.fromarray(noise), min_side=24) == []
    assert find_faces(Image.new("RGB", (128, 128), "white"), min_side=24) == []
    # a face smaller than min_side is left alone
    assert find_faces(drawn_face((128, 128), (32, 24, 96, 104)), min_side=100) == []
