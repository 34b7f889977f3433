"""Vary (Region) Submit: bad input answered in one sentence with nothing queued; a good one
queues one job for the member with the mask, whose result is posted like any job."""

from __future__ import annotations

import aiohttp
import numpy as np
from PIL import Image

from imagine_bot.app import ImagineApp
from imagine_bot.bot.client import ImagineBot
from imagine_bot.engine.jobs.records import Requester
from tests.bot.conftest import SIMCORD, World, button_ids
from tests.bot.exts.region.conftest import (
    BOX,
    children_of,
    editor_link,
    mask_png,
    post,
    result_message,
    single_image,
)

pytestmark = SIMCORD


def requester(world: World) -> Requester:
    return Requester(world.alice.id)


async def test_the_button_answers_privately_with_a_link_to_the_editor(
    world: World, bot: ImagineBot
) -> None:
    single = await single_image(world)
    result = await world.alice.click(single.message, label="Vary (Region)")
    (answer,) = result.followups
    assert answer.flags.ephemeral
    assert f"{bot.web.base_url}/region/" in answer.content
    assert "for you only, for 30 minutes" in answer.content


async def test_a_marked_region_is_queued_for_the_member_and_its_result_posted(
    world: World, app: ImagineApp
) -> None:
    single = await single_image(world)
    url = await editor_link(world, single)
    status, text = await post(url, "a red lighthouse at dusk --seed 5", mask_png())
    assert (status, text) == (200, "Queued: the result will be posted in Discord.")

    (job,) = await children_of(app, single.job_id, world.alice.id)
    assert job.owner_id == world.alice.id and job.parent_id == single.job_id
    assert job.spec.mask is not None and job.spec.source is not None
    assert "a red lighthouse" in job.spec.prompt
    stored_mask = np.asarray(Image.open(app.images.path(job.spec.mask.sha256)).convert("L"))
    assert (stored_mask == 255).sum() == (BOX[2] - BOX[0]) * (BOX[3] - BOX[1])

    message = await result_message(world, job)
    assert "Vary (Region)" in message.content and f"<@{world.alice.id}>" in message.content
    assert f"select:{job.id}:1" in button_ids(message)  # a grid with its own buttons

    again = await post(url, "a red lighthouse at dusk --seed 5", mask_png())
    status, told = again
    assert (status, told) == (409, f"That job is already started: {message.jump_url}")
    assert len(await children_of(app, single.job_id, world.alice.id)) == 1
    # the link was used: it opens no editor any more
    async with aiohttp.ClientSession() as session, session.get(url) as page:
        assert page.status == 403 and "This link was used" in await page.text()


BAD_INPUT = [
    ("a fox", mask_png(box=(0, 0, 0, 0)), 400, "The mask is empty"),
    ("a fox", mask_png(box=(0, 0, 128, 128)), 400, "covers the whole image"),
    ("a fox", mask_png(size=(64, 64), box=(0, 0, 8, 8)), 400, "64x64 pixels but the image"),
    ("a fox", b"not a png at all", 400, "The mask is not a PNG image"),
    ("a fox", None, 400, "Mark a region on the image first"),
    ("a fox", b"x" * (5 * 1024 * 1024), 413, "larger than this server accepts (4 MB)"),
    ("   ", mask_png(), 400, "The prompt is empty"),
    ("a fox --ar 99", mask_png(), 400, "--ar"),
    ("{a fox, a cat}", mask_png(), 400, "makes 2 prompts"),
]


async def test_bad_input_is_answered_in_one_line_and_nothing_is_queued(
    world: World, app: ImagineApp
) -> None:
    single = await single_image(world)
    url = await editor_link(world, single)
    held = (await app.service.quota_status(requester(world))).held
    for prompt, mask, status, message in BAD_INPUT:
        got_status, text = await post(url, prompt, mask)
        assert (got_status, message in text) == (status, True), (message, text)
        if status != 413:  # the others are plain text, one sentence
            assert "\n" not in text and "Traceback" not in text
    assert await children_of(app, single.job_id, world.alice.id) == []
    assert (await app.service.quota_status(requester(world))).held == held
