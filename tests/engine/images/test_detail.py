"""Fix Faces' regions: the feathered weight's reach, crop sizes, which detector runs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from imagine_bot.config.fix import FixSettings
from imagine_bot.engine.errors import DetectorUnavailable
from imagine_bot.engine.images.detail import (
    Box,
    crop_size,
    detector_file,
    feathered_weight,
)


def test_the_weight_is_one_inside_and_zero_past_the_feather() -> None:
    box = Box(10, 20, 30, 40)
    weight = feathered_weight(box, (64, 64), feather=5)
    assert weight.shape == (64, 64)
    assert (weight[20:40, 10:30] == 1).all()
    assert 0 < weight[30, 32] < 1  # 3 pixels right of the box
    assert weight[30, 35] == 0 and weight[45, 20] == 0  # 5 pixels out: none
    hard = feathered_weight(box, (64, 64), feather=0)
    assert hard.sum() == box.width * box.height


def test_a_crop_is_repainted_at_the_models_area_in_its_shape() -> None:
    assert crop_size(Box(0, 0, 40, 40), 128 * 128) == (128, 128)
    width, height = crop_size(Box(0, 0, 30, 60), 128 * 128)
    assert width % 8 == height % 8 == 0 and abs(height / width - 2) < 0.1


def test_hands_need_a_detector_and_a_yolo_file_must_exist() -> None:
    assert detector_file("faces", FixSettings()) is None  # OpenCV's cascade
    with pytest.raises(DetectorUnavailable, match=r"fix\.hand_detector"):
        detector_file("hands", FixSettings())
    with pytest.raises(DetectorUnavailable, match="there is no file"):
        detector_file("faces", FixSettings(detector="/nowhere/face_yolov8n.pt"))


def test_a_yolo_file_without_the_extra_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = tmp_path / "face_yolov8n.pt"
    weights.write_bytes(b"not read here")
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(  # CI never installs ultralytics; on a machine that has it, hide it
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "ultralytics" else real_find_spec(name, *args),
    )
    with pytest.raises(DetectorUnavailable, match=r"pip install 'imagine-bot\[yolo\]'"):
        detector_file("faces", FixSettings(detector=str(weights)))
