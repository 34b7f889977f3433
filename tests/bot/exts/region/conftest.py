"""Vary (Region) through SimCord: an image's message, its button's link, the editor's Submit."""

from __future__ import annotations

import asyncio
import io
import re
from dataclasses import dataclass

import aiohttp
import discord
import pytest
from PIL import Image

from imagine_bot.app import ImagineApp
from imagine_bot.bot.client import ImagineBot
from imagine_bot.engine.jobs.records import JobRecord
from tests.bot.conftest import World, button_ids

LINK = re.compile(r"https?://\S+/region/\S+")
BOX = (32, 40, 96, 88)
"""The region the tests mark on the 128x128 image: left, top, right, bottom."""


def bot_messages(world: World) -> list[discord.Message]:
    return [m for m in world.channel.history() if m.author.id == world.env.bot.user.id]


@dataclass
class Single:
    """Image 2 of a finished grid, posted alone with its buttons."""

    message: discord.Message
    job_id: str


async def single_image(world: World) -> Single:
    await world.alice.slash(world.channel, "imagine", prompt="a lighthouse at dusk --seed 5")
    grid = bot_messages(world)[-1]
    await world.alice.click(grid, label="U2")
    single = bot_messages(world)[-1]
    return Single(single, button_ids(single)[0].split(":")[1])


async def editor_link(world: World, single: Single) -> str:
    result = await world.alice.click(single.message, label="Vary (Region)")
    match = LINK.search(result.followups[-1].content)
    assert match, result.followups[-1].content
    return match.group(0)


def mask_png(size: tuple[int, int] = (128, 128), box: tuple[int, int, int, int] = BOX) -> bytes:
    mask = Image.new("L", size, 0)
    mask.paste(255, box)
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    return buffer.getvalue()


async def post(url: str, prompt: str | None, mask: bytes | None) -> tuple[int, str]:
    form = aiohttp.FormData()
    if prompt is not None:
        form.add_field("prompt", prompt)
    if mask is not None:
        form.add_field("mask", mask, filename="mask.png", content_type="image/png")
    async with aiohttp.ClientSession() as session, session.post(url, data=form) as response:
        return response.status, await response.text()


async def children_of(app: ImagineApp, parent_id: str, owner_id: int) -> list[JobRecord]:
    jobs = await app.service.jobs_of(owner_id)
    return [job for job in jobs if job.spec.action == "vary_region" and job.id != parent_id]


async def result_message(world: World, job: JobRecord) -> discord.Message:
    """The job's message once its grid is attached (the job runs on the worker thread)."""
    for _ in range(600):
        await world.env.settle()
        message = next((m for m in bot_messages(world) if m.id == job.message_id), None)
        if message is not None and message.attachments:
            return message
        await asyncio.sleep(0.1)
    raise AssertionError(f"no result for job {job.id}")


@pytest.fixture
def bot(world: World) -> ImagineBot:
    assert isinstance(world.env.bot, ImagineBot)
    return world.env.bot
