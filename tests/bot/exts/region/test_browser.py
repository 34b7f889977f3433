"""The editor in a real headless Chromium (Debian's package, driven by Playwright): draw a
rectangle, edit the prompt, submit; and refused links. Needs `apt-get install chromium`."""

from __future__ import annotations

import base64
import io
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.async_api import Browser, Page, ViewportSize, expect

from imagine_bot.app import ImagineApp
from imagine_bot.bot.client import ImagineBot
from imagine_bot.bot.exts.region._editor import PAGE
from tests.bot.conftest import SIMCORD, World
from tests.bot.exts.region.conftest import (
    BOX,
    children_of,
    editor_link,
    result_message,
    single_image,
)

pytestmark = [SIMCORD, pytest.mark.slow]

SCREENSHOT_DIR_ENV = "EDITOR_SCREENSHOT_DIR"
"""Set to a folder (docs/images) to keep the editor's screenshot for the README."""
PHONE = ViewportSize(width=412, height=740)


async def draw_rectangle(page: Page, box: tuple[int, int, int, int], size: int = 128) -> None:
    """Drag from one corner of ``box`` (in image pixels) to the other, on the shown canvas."""
    shown = await page.locator("#marks").bounding_box()
    assert shown is not None
    scale = shown["width"] / size

    def at(x: int, y: int) -> tuple[float, float]:
        return shown["x"] + x * scale, shown["y"] + y * scale

    await page.mouse.move(*at(box[0], box[1]))
    await page.mouse.down()
    await page.mouse.move(*at((box[0] + box[2]) // 2, box[3] - 10), steps=4)
    await page.mouse.move(*at(box[2], box[3]), steps=4)
    await page.mouse.up()


async def test_draw_a_rectangle_edit_the_prompt_and_submit(
    world: World, app: ImagineApp, browser: Browser, tmp_path: Path
) -> None:
    single = await single_image(world)
    link = await editor_link(world, single)
    context = await browser.new_context(viewport=PHONE, device_scale_factor=2)
    page = await context.new_page()
    response = await page.goto(link)
    assert response is not None and response.status == 200
    # Evaluated through the browser's debugger, not eval in the page, which the CSP refuses.
    await page.locator("#picture").evaluate(
        "img => img.complete || new Promise((done) => img.addEventListener('load', done))"
    )
    assert await page.input_value("#prompt") == "a lighthouse at dusk --seed 5"
    assert await page.is_disabled("#submit")  # nothing marked yet

    await draw_rectangle(page, BOX)
    await draw_rectangle(page, (4, 4, 20, 20))
    await page.click("#undo")  # the second mark is dropped
    await page.fill("#prompt", "a red lighthouse at dusk --seed 5")
    shots = Path(os.environ.get(SCREENSHOT_DIR_ENV) or tmp_path)
    shot = await page.screenshot(path=str(shots / "vary-region-editor.png"), full_page=True)
    assert shot.startswith(b"\x89PNG")
    await page.click("#submit")
    await expect(page.locator("#status")).to_have_text(re.compile(r"^Queued"))
    assert await page.is_disabled("#submit")
    await context.close()  # its keep-alive connection would hold the bot from settling

    (job,) = await children_of(app, single.job_id, world.alice.id)
    assert job.owner_id == world.alice.id and job.parent_id == single.job_id
    assert "a red lighthouse" in job.spec.prompt
    assert job.spec.mask is not None
    marked = np.asarray(Image.open(app.images.path(job.spec.mask.sha256)).convert("L")) == 255
    expected = np.zeros((128, 128), dtype=bool)
    expected[BOX[1] : BOX[3], BOX[0] : BOX[2]] = True
    overlap = (marked & expected).sum() / (marked | expected).sum()
    assert overlap > 0.9, overlap  # the rectangle as drawn, edge pixels aside; no undone mark
    message = await result_message(world, job)
    assert "Vary (Region)" in message.content


async def drawn_mask(page: Page) -> np.ndarray:
    """What Submit would send: the page's mask PNG, as booleans (True = repaint)."""
    data_url = await page.evaluate(
        """async () => {
            const blob = await maskBlob();
            return await new Promise((done) => {
                const reader = new FileReader();
                reader.onload = () => done(reader.result);
                reader.readAsDataURL(blob);
            });
        }"""
    )
    png = base64.b64decode(data_url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("L")) >= 128


async def test_lasso_and_brush_mark_what_they_cover_and_undo_drops_them(
    world: World, browser: Browser
) -> None:
    single = await single_image(world)
    context = await browser.new_context(viewport=PHONE, has_touch=True)
    page = await context.new_page()
    await page.goto(await editor_link(world, single))
    shown = await page.locator("#marks").bounding_box()
    assert shown is not None
    scale = shown["width"] / 128

    async def stroke(points: list[tuple[int, int]]) -> None:
        await page.mouse.move(shown["x"] + points[0][0] * scale, shown["y"] + points[0][1] * scale)
        await page.mouse.down()
        for x, y in points[1:]:
            await page.mouse.move(shown["x"] + x * scale, shown["y"] + y * scale, steps=3)
        await page.mouse.up()

    await page.click("[data-tool=lasso]")
    await stroke([(10, 10), (60, 10), (10, 60)])  # a triangle, closed by the tool
    await page.click("[data-tool=brush]")
    await stroke([(80, 100), (120, 100)])
    mask = await drawn_mask(page)
    assert mask[15, 15] and mask[40, 12] and not mask[50, 50]  # inside / outside the triangle
    assert mask[100, 100] and not mask[60, 100]  # on the brush stroke / away from it
    await page.click("#undo")
    assert not (await drawn_mask(page))[100, 100]
    await page.click("#undo")
    assert not (await drawn_mask(page)).any()
    assert await page.is_disabled("#submit")
    await context.close()


async def test_expired_and_other_members_links_are_refused(
    world: World, bot: ImagineBot, browser: Browser
) -> None:
    single = await single_image(world)
    links = bot.web.links
    expired = links.sign(
        PAGE,
        world.alice.id,
        single.job_id,
        index=2,
        channel_id=world.channel.id,
        issued=time.time() - 31 * 60,
    )
    bobs = links.sign(PAGE, world.bob.id, single.job_id, index=2, channel_id=world.channel.id)
    alices = (await editor_link(world, single)).rsplit("/", 1)[1]
    forged = bobs.split(".")[0] + "." + alices.split(".")[1]
    context = await browser.new_context()
    page = await context.new_page()
    for token, reason in [
        (expired, "This link has expired"),
        (bobs, "another member's image"),
        (forged, "This link is not valid"),
    ]:
        response = await page.goto(bot.web.url(PAGE, token))
        assert response is not None and response.status == 403
        assert reason in await page.inner_text("main")
        assert "Traceback" not in await page.content()
    await context.close()
    assert await children_of(bot.app, single.job_id, world.alice.id) == []
