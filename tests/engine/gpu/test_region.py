"""Vary (Region) on the tiny model: the marked region is repainted, every other pixel kept."""

from __future__ import annotations

import asyncio
import io

import numpy as np
import pytest
from PIL import Image

from imagine_bot.config import Settings
from imagine_bot.engine.control import JobControl
from imagine_bot.engine.errors import PromptError, UserError
from imagine_bot.engine.images.masks import read_mask
from imagine_bot.engine.images.region import prepare_region
from imagine_bot.engine.result import GenerationResult
from imagine_bot.engine.spec import GenerationSpec, SourceImage
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.plugins.planner import JobPlanner
from imagine_bot.plugins.runner import JobRunner

BOX = (40, 24, 96, 72)
"""left, top, right, bottom of the marked region on the 128x128 test image."""


def box_mask(size: tuple[int, int] = (128, 128)) -> Image.Image:
    mask = Image.new("L", size, 0)
    mask.paste(255, BOX)
    return mask


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def parent(settings: Settings, runner: JobRunner) -> tuple[GenerationSpec, GenerationResult]:
    planner = JobPlanner(settings, build_plugin_manager(settings))
    (spec,) = asyncio.run(planner.plan("a lighthouse at dusk --seed 7"))
    return spec, runner.submit(spec, JobControl()).result()


@pytest.fixture
def stored(
    runner: JobRunner, parent: tuple[GenerationSpec, GenerationResult]
) -> tuple[SourceImage, SourceImage]:
    """Image 2 of the parent and the box mask, in the image store."""
    store = runner.models.store
    source = store.put(parent[1].images[1])
    mask = store.put(read_mask(png(box_mask()), (128, 128)))
    return (
        SourceImage(sha256=source.sha256, job_id="parent-job", index=2),
        SourceImage(sha256=mask.sha256),
    )


async def test_outside_the_region_every_pixel_is_the_source_s(
    planner: JobPlanner,
    runner: JobRunner,
    parent: tuple[GenerationSpec, GenerationResult],
    stored: tuple[SourceImage, SourceImage],
) -> None:
    spec, result = parent
    source, mask = stored
    (varied,) = await planner.derive(spec, "vary_region", 2, source, mask=mask)
    assert (varied.kind, varied.mask, varied.source) == ("inpaint", mask, source)
    assert (varied.width, varied.height, varied.strength) == (128, 128, 1.0)
    assert len(varied.seeds) == 4 and varied.seeds != spec.seeds
    assert GenerationSpec.model_validate_json(varied.model_dump_json()) == varied

    out = runner.submit(varied, JobControl()).result()
    before = np.asarray(result.images[1].convert("RGB"))
    outside = np.asarray(box_mask()) == 0
    for image in out.images:
        after = np.asarray(image.convert("RGB"))
        assert after.shape == before.shape
        assert np.array_equal(after[outside], before[outside])
        inside = after[BOX[1] + 8 : BOX[3] - 8, BOX[0] + 8 : BOX[2] - 8]
        original = before[BOX[1] + 8 : BOX[3] - 8, BOX[0] + 8 : BOX[2] - 8]
        assert np.abs(inside.astype(int) - original.astype(int)).mean() > 1.0


async def test_an_edited_prompt_replaces_the_text_and_keeps_the_size(
    planner: JobPlanner,
    parent: tuple[GenerationSpec, GenerationResult],
    stored: tuple[SourceImage, SourceImage],
) -> None:
    source, mask = stored
    (edited,) = await planner.derive(
        parent[0], "vary_region", 2, source, prompt="a red fox --no water --chaos 50", mask=mask
    )
    assert "a red fox" in edited.prompt and "lighthouse" not in edited.prompt
    assert "water" in edited.negative_prompt and edited.chaos == 0.5
    assert (edited.width, edited.height, edited.mask) == (128, 128, mask)
    (wide,) = await planner.derive(
        parent[0], "vary_region", 2, source, prompt="a red fox --ar 3:2", mask=mask
    )
    assert (wide.width, wide.height) == (128, 128)  # the mask is the image's size


@pytest.mark.parametrize(
    ("prompt", "message"),
    [("{a fox, a cat}", "makes 2 prompts"), ("a fox --ar 99", "--ar"), ("a fox --bogus", "bogus")],
)
async def test_an_edited_prompt_that_is_invalid_is_refused(
    planner: JobPlanner,
    parent: tuple[GenerationSpec, GenerationResult],
    stored: tuple[SourceImage, SourceImage],
    prompt: str,
    message: str,
) -> None:
    source, mask = stored
    with pytest.raises(PromptError, match=message):
        await planner.derive(parent[0], "vary_region", 2, source, prompt=prompt, mask=mask)


async def test_vary_region_needs_a_mask(
    planner: JobPlanner,
    parent: tuple[GenerationSpec, GenerationResult],
    stored: tuple[SourceImage, SourceImage],
) -> None:
    with pytest.raises(UserError, match="needs a region"):
        await planner.derive(parent[0], "vary_region", 2, stored[0])


def test_the_keep_alpha_is_exact_outside_and_feathered_inside() -> None:
    mask, keep = prepare_region(box_mask(), 128, 128, feather=8)
    assert np.array_equal(np.asarray(mask), np.asarray(box_mask()))
    outside = np.asarray(box_mask()) == 0
    assert (keep[outside] == 1.0).all()
    assert keep[BOX[1], BOX[0] + 20] > 0.9  # the region's edge blends with the source
    assert keep[(BOX[1] + BOX[3]) // 2, (BOX[0] + BOX[2]) // 2] == 0.0
    assert 0.0 < keep[BOX[1] + 3, BOX[0] + 20] < 1.0
