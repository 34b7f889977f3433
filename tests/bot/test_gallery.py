"""/gallery: a signed link to a page of the server's delivered jobs, over a real socket."""

from __future__ import annotations

import re

import aiohttp
import pytest
import simcord
from prometheus_client.parser import text_string_to_metric_families

from imagine_bot.app import ImagineApp
from imagine_bot.bot.client import ImagineBot
from imagine_bot.bot.jobs.watcher import JobWatcher
from imagine_bot.bot.web import gallery
from imagine_bot.engine.spec import JobState
from tests.bot.conftest import SIMCORD, World

pytestmark = SIMCORD

JPEG_MAGIC = b"\xff\xd8\xff"


async def gallery_url(member: simcord.MemberActor, channel: object) -> str:
    result = await member.slash(channel, "gallery")
    assert result.ephemeral and result.response is not None
    (button,) = [child for row in result.response.components for child in row["components"]]
    assert button["label"] == "Open the gallery"
    url: str = button["url"]
    return url


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


def prompts_on(page: str) -> list[str]:
    return re.findall(r"<p class='prompt'>(.*?)</p>", page)


async def test_the_gallery_lists_the_servers_delivered_jobs_to_a_valid_link(
    world: World, app: ImagineApp, env: simcord.Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    await world.alice.slash(world.channel, "imagine", prompt="a red fox --ar 3:2 --seed 5")
    await world.bob.slash(world.channel, "imagine", prompt="a blue <bird> & co")
    elsewhere = env.create_guild()
    carol = elsewhere.add_member(env.create_user("carol"))
    await carol.slash(elsewhere.create_text_channel("other"), "imagine", prompt="a green frog")
    # A job held in the queue: SimCord counts the bot's wait for its events as outside input.
    await app.service.pause()
    monkeypatch.setattr(
        JobWatcher,
        "_next_event",
        lambda self, queue: env.external_wait(queue.get(), reason="job events"),
    )
    await world.alice.slash(world.channel, "imagine", prompt="a queued cat")
    states = {job.spec.prompt: job.state for job in await app.service.jobs_of(world.alice.id)}
    assert states == {"a red fox": JobState.DELIVERED, "a queued cat": JobState.QUEUED}

    url = await gallery_url(world.alice, world.channel)
    status, page = await get(url)
    assert status == 200
    # This server's delivered jobs, newest first, escaped; not the queued one, not carol's.
    assert prompts_on(page) == ["a blue &lt;bird&gt; &amp; co", "a red fox --ar 3:2 --seed 5"]
    assert "Seed 5 · tiny" in page
    assert "data-prompt='a red fox --ar 3:2 --seed 5'" in page
    assert "https://" not in page and "http://" not in page  # no CDN, nothing from elsewhere
    thumbnails = re.findall(r"<img src='([^']+)'", page)
    assert len(thumbnails) == 2
    async with aiohttp.ClientSession() as session, session.get(f"{url}/../{thumbnails[0]}") as r:
        assert r.status == 200 and r.content_type == "image/jpeg"
        assert (await r.read()).startswith(JPEG_MAGIC)

    status, mine = await get(f"{url}?show=mine")
    assert status == 200 and prompts_on(mine) == ["a red fox --ar 3:2 --seed 5"]

    # The bot's own server also answers /metrics: four /imagine answers, each timed.
    status, metrics = await get(f"{url.split('/gallery/')[0]}/metrics")
    defer = next(
        family
        for family in text_string_to_metric_families(metrics)
        if family.name == "imagine_interaction_defer_seconds"
    )
    counts = [sample.value for sample in defer.samples if sample.name.endswith("_count")]
    assert status == 200 and counts == [4]


async def test_the_gallery_is_paged(
    world: World, app: ImagineApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gallery, "PER_PAGE", 1)
    await world.alice.slash(world.channel, "imagine", prompt="the first")
    await world.alice.slash(world.channel, "imagine", prompt="the second")
    url = await gallery_url(world.alice, world.channel)
    _, first = await get(url)
    assert prompts_on(first) == ["the second"] and "Older →" in first
    (older,) = re.findall(r"<a href='([^']+)'>Older →</a>", first)
    _, second = await get(f"{url.rsplit('/', 1)[0]}/{older.replace('&amp;', '&')}")
    assert prompts_on(second) == ["the first"] and "Older →" not in second
    assert "← Newer" in second


async def test_a_changed_or_foreign_link_shows_nothing(
    world: World, app: ImagineApp, simcord_bot: ImagineBot
) -> None:
    await world.alice.slash(world.channel, "imagine", prompt="a private fox")
    url = await gallery_url(world.alice, world.channel)
    base, token = url.rsplit("/", 1)
    payload, signature = token.split(".")
    forged = f"{base}/{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    other_page = simcord_bot.web.links.sign(
        "region", world.alice.id, "", channel_id=world.channel.id
    )
    for bad in (forged, f"{base}/{other_page}", f"{base}/nonsense"):
        status, text = await get(bad)
        assert status == 403, bad
        assert "a private fox" not in text
    job_id = (await app.service.jobs_of(world.alice.id))[0].id
    status, _ = await get(f"{forged}/{job_id}.jpg")
    assert status == 403


async def test_gallery_in_a_direct_message_is_refused(env: simcord.Env, app: ImagineApp) -> None:
    user = env.create_user("dora")
    result = await user.slash("gallery")
    assert result.response is not None and "works in servers only" in result.response.content
