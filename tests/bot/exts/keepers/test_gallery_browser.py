"""The gallery's Favourites and My favourites filters and its lineage links, in a real headless
Chromium (Debian's package, driven by Playwright), after stars pressed through SimCord."""

from __future__ import annotations

import discord
import pytest
from playwright.async_api import Browser, Page

from imagine_bot.app import ImagineApp
from imagine_bot.bot.jobs.buttons import STAR
from tests.bot.conftest import SIMCORD, World, button_ids
from tests.bot.test_gallery import gallery_url

pytestmark = [SIMCORD, pytest.mark.slow]


def bot_messages(world: World) -> list[discord.Message]:
    return [m for m in world.channel.history() if m.author.id == world.env.bot.user.id]


def job_of(message: discord.Message) -> str:
    return button_ids(message)[0].split(":")[1]


async def star(member: object, message: discord.Message) -> None:
    (custom_id,) = [c for c in button_ids(message) if c.startswith(f"{STAR}:")]
    await member.click(message, custom_id=custom_id)  # type: ignore[attr-defined]


async def cards(page: Page) -> set[tuple[str, str]]:
    """(job id, image index: "" for a grid) of each card on the page."""
    found = await page.locator("figure").evaluate_all(
        "figures => figures.map(f => [f.dataset.job, f.dataset.image || ''])"
    )
    return {(job, image) for job, image in found}


async def test_favourites_filters_show_exactly_the_starred_images_and_lineage_links(
    world: World, app: ImagineApp, browser: Browser
) -> None:
    await world.alice.slash(world.channel, "imagine", prompt="a red fox")
    fox = bot_messages(world)[-1]
    await world.alice.slash(world.channel, "imagine", prompt="a grey cat")
    cat = bot_messages(world)[-1]
    await world.alice.click(cat, label="U2")
    cat_two = bot_messages(world)[-1]
    await world.bob.slash(world.channel, "imagine", prompt="a blue bird")
    bird = bot_messages(world)[-1]
    await world.alice.click(fox, label="Reroll")
    rerun = bot_messages(world)[-1]

    await star(world.alice, fox)
    await star(world.alice, cat_two)
    await star(world.bob, bird)
    await star(world.bob, cat_two)  # two members, one image: one card
    await star(world.alice, rerun)
    await star(world.alice, rerun)  # starred and unstarred again

    page = await (await browser.new_context()).new_page()
    await page.goto(await gallery_url(world.alice, world.channel))
    everything = {(job_of(m), "") for m in (fox, cat, bird, rerun)}
    assert await cards(page) == everything

    await page.get_by_role("link", name="Favourites", exact=True).click()
    await page.wait_for_load_state()
    starred = {(job_of(fox), ""), (job_of(cat), "2"), (job_of(bird), "")}
    assert await cards(page) == starred
    # A starred image's thumbnail is that image, not the grid.
    image = page.locator(f"figure[data-job='{job_of(cat)}'] img")
    assert (await image.get_attribute("src") or "").endswith("?image=2")
    assert await image.evaluate("img => img.complete && img.naturalWidth > 0")

    await page.get_by_role("link", name="My favourites").click()
    await page.wait_for_load_state()
    assert await cards(page) == {(job_of(fox), ""), (job_of(cat), "2")}

    # Lineage: the fox's card links to its rerun, whose page links back.
    await page.get_by_role("link", name="All images").click()
    await page.wait_for_load_state()
    fox_card = page.locator(f"figure[data-job='{job_of(fox)}']")
    await fox_card.locator("a.lineage-link").click()
    await page.wait_for_load_state()
    assert await cards(page) == {(job_of(rerun), "")}
    await page.get_by_role("link", name="this job").click()
    await page.wait_for_load_state()
    assert await cards(page) == {(job_of(fox), "")}
