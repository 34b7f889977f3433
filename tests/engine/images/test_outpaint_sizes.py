"""Outpainting canvases of small images (drafts) keep their shape on the 16-pixel grid."""

from __future__ import annotations

import pytest

from imagine_bot.engine.images.outpaint import plan_pan, plan_square

DRAFT_BUDGET = int(128 * 128 * 1.5)
"""``actions.pixel_budget`` (1.5) times the area of a draft at 128x128."""


@pytest.mark.parametrize("direction", ["left", "right"])
def test_a_panned_draft_keeps_its_height_within_the_budget(direction: str) -> None:
    width, height, place = plan_pan(192, 128, direction, 0.5, DRAFT_BUDGET, 0.03)  # type: ignore[arg-type]
    assert width * height <= DRAFT_BUDGET
    assert (width, height) == (224, 96)  # 64-pixel steps gave 192x64
    assert abs(place.width / place.height - 1.5) < 0.07  # squashed no more than rounding


def test_make_square_of_a_draft_is_no_smaller_than_the_grid_allows() -> None:
    width, height, place = plan_square(192, 128, DRAFT_BUDGET, 0.03)
    assert width == height == 144 and width * height <= DRAFT_BUDGET  # 64-pixel steps: 128
    assert abs(place.width / place.height - 1.5) < 0.05


def test_large_canvases_stay_on_the_64_pixel_grid() -> None:
    width, height, _ = plan_pan(1280, 832, "right", 0.5, int(1024 * 1024 * 1.5), 0.03)
    assert width % 64 == 0 and height % 64 == 0
