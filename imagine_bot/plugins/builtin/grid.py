"""The 2x2 grid of the four images, in reading order (U1 U2 / U3 U4).

A job that makes one image (an upscale, an enhanced draft) has no grid: the image is the
result.
"""

from imagine_bot.engine.images.grid import make_grid
from imagine_bot.engine.result import GenerationResult
from imagine_bot.plugins import hookimpl

__all__ = ["make_grid"]


@hookimpl(trylast=True)
def imagine_postprocess(result: GenerationResult) -> None:
    if result.grid is None and len(result.images) > 1:
        result.grid = make_grid(result.images)
