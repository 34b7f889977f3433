"""The 2x2 grid of the four images, in reading order (U1 U2 / U3 U4)."""

from PIL import Image

from imagine_bot.engine.domain import GenerationResult
from imagine_bot.plugins import hookimpl

COLUMNS = 2


@hookimpl(trylast=True)
def imagine_postprocess(result: GenerationResult) -> None:
    if result.grid is None:
        result.grid = make_grid(result.images)


def make_grid(images: list[Image.Image]) -> Image.Image:
    width, height = images[0].size
    rows = -(-len(images) // COLUMNS)
    grid = Image.new("RGB", (width * COLUMNS, height * rows))
    for index, image in enumerate(images):
        grid.paste(image, ((index % COLUMNS) * width, (index // COLUMNS) * height))
    return grid
