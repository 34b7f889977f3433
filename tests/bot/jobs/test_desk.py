"""The desk through SimCord: one message per job however it is pressed, and a private answer
that says whether the job started or waits, and why, and is edited when it starts."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import discord
import pytest
import simcord

from imagine_bot.app import ImagineApp
from imagine_bot.bot.jobs import replies
from imagine_bot.bot.jobs.replies import INTERACTION_LIFE
from imagine_bot.bot.jobs.watcher import JobWatcher
from imagine_bot.bot.messages import NO_WORKER, PAUSED
from imagine_bot.engine.jobs.service import JobService
from tests.bot.conftest import SIMCORD, World, button_ids

pytestmark = SIMCORD


def bot_messages(world: World) -> list[discord.Message]:
    return [m for m in world.channel.history() if m.author.id == world.env.bot.user.id]


def private_answers(result: simcord.InteractionResult) -> list[str]:
    return [reply.content for reply in result.followups if reply.flags.ephemeral]


def command_answer(result: simcord.InteractionResult) -> str:
    """A deferred command's answer (its first follow-up edits the "thinking" response)."""
    assert result.response is not None and result.response.ephemeral
    return str(result.response.content)


def follow_events_outside(env: simcord.Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """Jobs that wait: SimCord treats the bot's wait for their events as the outside input."""
    monkeypatch.setattr(
        JobWatcher,
        "_next_event",
        lambda self, queue: env.external_wait(queue.get(), reason="job events"),
    )


async def grid_of(world: World) -> discord.Message:
    await world.alice.slash(world.channel, "imagine", prompt="a red fox")
    return bot_messages(world)[-1]


async def test_a_quick_double_press_posts_one_message_and_links_it(
    world: World, app: ImagineApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    grid = await grid_of(world)
    await app.service.pause()
    follow_events_outside(world.env, monkeypatch)
    # The second press arrives while the first one is between its submission and its message.
    gate = asyncio.Event()
    queue_position = JobService.queue_position

    async def slow_first(service: JobService, job_id: str) -> int | None:
        if not gate.is_set():
            await world.env.external_wait(gate.wait(), reason="the first press, held")
        return await queue_position(service, job_id)

    monkeypatch.setattr(JobService, "queue_position", slow_first)
    before = len(bot_messages(world))
    first = await world.alice.click(grid, label="V1")
    second = await world.alice.click(grid, label="V1")
    gate.set()
    await world.env.settle()

    (posted,) = bot_messages(world)[before:]
    children = [job for job in await app.service.jobs_of(world.alice.id) if job.parent_id]
    assert len(children) == 1
    answers = sorted([*private_answers(first), *private_answers(second)])
    link = f"https://discord.com/channels/{world.guild.id}/{world.channel.id}/{posted.id}"
    assert answers == [f"Queued: {PAUSED}.", f"That job is already started: {link}"]


@pytest.mark.parametrize(
    ("token_life", "answer_once_started"),
    [(INTERACTION_LIFE, "Started."), (timedelta(0), f"Queued: {PAUSED}.")],
    ids=["token alive", "token expired"],
)
async def test_a_paused_queue_is_said_and_the_message_moves_when_it_resumes(
    world: World,
    app: ImagineApp,
    monkeypatch: pytest.MonkeyPatch,
    token_life: timedelta,
    answer_once_started: str,
) -> None:
    monkeypatch.setattr(replies, "INTERACTION_LIFE", token_life)
    await app.service.pause()
    follow_events_outside(world.env, monkeypatch)
    result = await world.alice.slash(world.channel, "imagine", prompt="a red fox")
    assert command_answer(result) == f"Queued: {PAUSED}."
    (message,) = bot_messages(world)
    assert f"(Queued: {PAUSED})" in message.content

    await app.service.resume()
    (job,) = await app.service.jobs_of(world.alice.id, states=None)
    for _ in range(6000):  # the GPU worker runs outside SimCord's clock
        if (record := await app.service.job(job.id)) and record.state == "delivered":
            break
        await asyncio.sleep(0.05)
    await world.env.settle()
    (delivered,) = bot_messages(world)
    assert delivered.id == message.id and PAUSED not in delivered.content
    assert button_ids(delivered)
    # The private answer is edited too, while the interaction's token lasts.
    assert command_answer(result) == answer_once_started


async def test_no_gpu_worker_is_said(
    world: World, app: ImagineApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(type(app.service.workers), "capacity", property(lambda self: 0))
    follow_events_outside(world.env, monkeypatch)
    result = await world.alice.slash(world.channel, "imagine", prompt="a red fox")
    assert command_answer(result) == f"Queued: {NO_WORKER}."
    (message,) = bot_messages(world)
    assert f"(Queued: {NO_WORKER})" in message.content
