"""What a gallery link shows: only channels its member may read, age-restricted channels only
through a link made in one, and a flagged job's thumbnail blurred past recognition."""

from __future__ import annotations

import io
import re
from pathlib import Path

import aiohttp
import discord
import numpy as np
import simcord
from PIL import Image

from imagine_bot.app import ImagineApp
from imagine_bot.bot.client import ImagineBot
from imagine_bot.bot.web import gallery
from tests.bot.conftest import SIMCORD, World
from tests.bot.test_gallery import gallery_url, get, prompts_on

pytestmark = SIMCORD

HIDDEN = discord.PermissionOverwrite(view_channel=False)
SHOWN = discord.PermissionOverwrite(view_channel=True)


class Places:
    def __init__(self, world: World, bot: ImagineBot) -> None:
        self.art = world.channel
        assert bot.user is not None
        self.secret = world.guild.create_text_channel(
            "secret",
            overwrites={world.guild.default_role: HIDDEN, world.bob: SHOWN, bot.user: SHOWN},
        )
        self.adult = world.guild.create_text_channel("adult")
        cached = bot.get_channel(self.adult.id)
        assert isinstance(cached, discord.TextChannel)
        cached.nsfw = True  # SimCord has no age restriction; Discord sends it as `nsfw`


async def status_of(url: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status


async def imagine(member: simcord.MemberActor, channel: object, prompt: str) -> None:
    await member.slash(channel, "imagine", prompt=prompt)


async def test_a_link_shows_only_channels_its_member_may_read(
    world: World, app: ImagineApp, simcord_bot: ImagineBot
) -> None:
    places = Places(world, simcord_bot)
    await imagine(world.alice, places.art, "an open fox")
    await imagine(world.bob, places.secret, "a secret owl")
    await imagine(world.bob, places.adult, "an adult scene")
    jobs = {job.spec.prompt: job.id for job in await app.service.jobs_of(world.bob.id)}

    alice = await gallery_url(world.alice, places.art)
    _, page = await get(alice)
    assert prompts_on(page) == ["an open fox"]
    for hidden in ("a secret owl", "an adult scene"):
        assert await status_of(f"{alice}/{jobs[hidden]}.jpg") == 404, hidden

    bob = await gallery_url(world.bob, places.art)
    _, page = await get(bob)
    assert prompts_on(page) == ["a secret owl", "an open fox"]
    assert await status_of(f"{bob}/{jobs['a secret owl']}.jpg") == 200

    _, page = await get(await gallery_url(world.bob, places.adult))
    assert prompts_on(page) == ["an adult scene", "a secret owl", "an open fox"]


async def test_the_scope_is_checked_again_when_the_link_opens(
    world: World, app: ImagineApp, simcord_bot: ImagineBot
) -> None:
    places = Places(world, simcord_bot)
    await imagine(world.bob, places.secret, "a secret owl")
    bob = await gallery_url(world.bob, places.art)
    _, page = await get(bob)
    assert prompts_on(page) == ["a secret owl"]
    cached = simcord_bot.get_channel(places.secret.id)
    assert isinstance(cached, discord.TextChannel)
    cached.nsfw = True  # the channel became age-restricted after the link was made
    _, page = await get(bob)
    assert prompts_on(page) == []


async def test_no_link_from_a_channel_the_member_cannot_read(
    world: World, app: ImagineApp, simcord_bot: ImagineBot
) -> None:
    places = Places(world, simcord_bot)
    bob = await gallery_url(world.bob, places.secret)
    cached = simcord_bot.get_channel(places.secret.id)
    assert isinstance(cached, discord.TextChannel)
    # Bob loses the channel: the link he made in it no longer opens.
    member = await cached.guild.fetch_member(world.bob.id)
    await cached.set_permissions(member, overwrite=None)
    status, page = await get(bob)
    assert status == 403 and "no longer read" in page


def test_a_flagged_thumbnail_is_blocks_of_colour(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    path = tmp_path / "noisy.png"
    Image.fromarray(rng.integers(0, 255, (256, 256, 3), np.uint8)).save(path)

    def blocks_of(data: bytes) -> int:
        with Image.open(io.BytesIO(data)) as image:
            pixels = np.asarray(image.convert("L"), np.int16)
        side = pixels.shape[0] // gallery.FLAGGED_BLOCKS
        inner = [
            pixels[y + 4 : y + side - 4, x + 4 : x + side - 4]
            for y in range(0, pixels.shape[0], side)
            for x in range(0, pixels.shape[1], side)
        ]
        return sum(int(block.max() - block.min()) <= 12 for block in inner)

    flagged = gallery._thumbnail_jpeg(path, True)
    plain = gallery._thumbnail_jpeg(path, False)
    assert blocks_of(flagged) == gallery.FLAGGED_BLOCKS**2
    assert blocks_of(plain) == 0
    assert re.match(rb"\xff\xd8\xff", flagged)
