"""``--ar W:H`` -> width and height near the preset's pixel area, in multiples of 64.

Multiples of 64 rarely hit both the ratio and the area exactly, so the size is the one with
the smallest combined error, where an error in the ratio weighs ``RATIO_WEIGHT`` times an
error in the area (both measured as log factors). At 1024x1024, 3:2 gives 1280x832 (1.54, 2%
more pixels) and 16:9 gives 1344x768 (1.75, 2% fewer); at 256x256, 3:2 gives 384x256. When
the best multiple of 64 misses the ratio by more than ``RATIO_TOLERANCE`` (small areas:
drafts), multiples of 16 are used: at 128x128, 16:9 gives 176x96 (1.83), not 192x128 (3:2).
"""

import math

from imagine_bot.config import Settings
from imagine_bot.engine.images.sizes import FINE_STEP, SIZE_STEP
from imagine_bot.engine.spec import DraftSpec
from imagine_bot.plugins import hookimpl

RATIO_WEIGHT = 4.0
RATIO_TOLERANCE = 0.05
"""The largest ratio error (as a log factor, about 5%) the 64-pixel grid may make."""


@hookimpl(trylast=True)
def imagine_transform(draft: DraftSpec, settings: Settings) -> None:
    assert draft.preset is not None, "model_preset runs before aspect"
    ratio = draft.flag("ar")
    if draft.width is None or draft.height is None:
        draft.width, draft.height = size_for_ratio(ratio, draft.preset.pixel_area)


def size_for_ratio(ratio: str, pixel_area: int) -> tuple[int, int]:
    """The size on the 64-pixel grid (or the 16-pixel one, when 64 cannot hold the ratio) that
    best matches ``ratio`` (``"W:H"``) at ``pixel_area``."""
    width_part, height_part = (int(side) for side in ratio.split(":"))
    target = width_part / height_part
    size = _best_size(target, pixel_area, SIZE_STEP)
    if abs(math.log(size[0] / size[1] / target)) > RATIO_TOLERANCE:
        size = _best_size(target, pixel_area, FINE_STEP)
    return size


def _best_size(target: float, pixel_area: int, step: int) -> tuple[int, int]:
    def error(size: tuple[int, int]) -> float:
        width, height = size
        ratio_error = abs(math.log(width / height / target))
        area_error = abs(math.log(width * height / pixel_area))
        return RATIO_WEIGHT * ratio_error + area_error

    widest = 4 * math.isqrt(pixel_area) + step
    candidates = [
        (width, height)
        for width in range(step, widest + 1, step)
        for height in _nearest_steps(width / target, step)
    ]
    return min(candidates, key=error)


def _nearest_steps(side: float, step: int) -> set[int]:
    below = max(step, math.floor(side / step) * step)
    return {below, below + step}
