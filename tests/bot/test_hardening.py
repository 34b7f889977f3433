"""Hostile and unlucky input through SimCord: every command is answered in plain words that
fit Discord's limits, one member cannot crowd out another, and the channel rules hold for
every command and button."""

from __future__ import annotations

import asyncio
import logging

import discord
import pytest
import simcord

from imagine_bot.app import ImagineApp
from imagine_bot.bot.client import ImagineBot
from imagine_bot.bot.errors import SERVER_FAULT
from imagine_bot.bot.jobs.watcher import JobWatcher
from imagine_bot.bot.messages import MAX_CONTENT, PAUSED
from imagine_bot.engine.gpu.upscale import NO_WEIGHTS_WARNING
from imagine_bot.engine.jobs.records import Requester
from imagine_bot.plugins.limits import MAX_FLAGS_LENGTH, MAX_PROMPT_LENGTH
from tests.bot.conftest import SIMCORD, World, button_ids

pytestmark = SIMCORD


def answer(result: simcord.InteractionResult) -> str:
    """The one private answer of a command: it exists, is ephemeral and fits Discord."""
    assert result.acknowledged
    assert result.response is not None, "the command was never answered"
    assert result.response.ephemeral
    content: str = result.response.content
    assert len(content) <= MAX_CONTENT and "Traceback" not in content
    return content


def bot_messages(world: World) -> list[discord.Message]:
    return [m for m in world.channel.history() if m.author.id == world.env.bot.user.id]


async def grid_of(world: World, prompt: str = "a red fox") -> discord.Message:
    before = {m.id for m in bot_messages(world)}
    result = await world.alice.slash(world.channel, "imagine", prompt=prompt)
    (message,) = [m for m in bot_messages(world) if m.id not in before]
    assert result.acknowledged
    return message


# --- 1. one member cannot freeze the bot ---------------------------------------------------


async def test_a_macro_flood_is_refused_and_another_members_prompt_still_runs(
    world: World, app: ImagineApp
) -> None:
    too_long = "--no " + "x" * 5995
    refused = await world.alice.slash(
        world.channel, "prefer option set", name="flood", flags=too_long
    )
    assert f"the limit is {MAX_FLAGS_LENGTH:,}" in answer(refused)
    assert await app.service.macros(world.alice.id) == {}

    at_cap = "--no " + ", ".join(["dusk"] * 160)
    saved = await world.alice.slash(world.channel, "prefer option set", name="f", flags=at_cap)
    assert "now means" in answer(saved)
    flood = "a fox " + "--f " * 995  # under Discord's 4000 characters, 160 KB once expanded
    result = await world.alice.slash(world.channel, "imagine", prompt=flood)
    assert f"the limit is {MAX_PROMPT_LENGTH:,}" in answer(result)
    assert await app.service.jobs_of(world.alice.id, states=None) == []

    before = {m.id for m in bot_messages(world)}
    other = await world.bob.slash(world.channel, "imagine", prompt="a red fox")
    assert other.acknowledged and other.ephemeral
    (posted,) = [m for m in bot_messages(world) if m.id not in before]
    assert f"<@{world.bob.id}>" in posted.content and button_ids(posted)


# --- 3. errors everybody sees, within Discord's limits -------------------------------------


@pytest.mark.parametrize(
    ("prompt", "said"),
    [
        ("{" * 495 + "a" + "}" * 495, "levels deep"),
        ("a fox::" + "9" * 309 + " b", "out of range"),
        ("a fox --sref https://cdn.discordapp.com/a.png::" + "9" * 309, "out of range"),
        ("a fox \ud800 at dusk", "not text"),
        ("a fox --ar " + "9" * 3000, "--ar takes"),
    ],
    ids=["deep-braces", "huge-weight", "huge-ref-weight", "lone-surrogate", "long-echo"],
)
async def test_a_bad_prompt_always_gets_a_private_answer(
    world: World, app: ImagineApp, prompt: str, said: str
) -> None:
    result = await world.alice.slash(world.channel, "imagine", prompt=prompt)
    assert said in answer(result)
    assert await app.service.jobs_of(world.alice.id, states=None) == []


async def test_an_unexpected_failure_is_answered_and_logged(
    world: World, app: ImagineApp, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk /srv/imagine/secret is full")

    monkeypatch.setattr(app.planner, "plan", broken)
    with caplog.at_level(logging.ERROR):
        result = await world.alice.slash(world.channel, "imagine", prompt="a fox")
    assert answer(result) == SERVER_FAULT
    assert any("secret is full" in str(record.exc_info) for record in caplog.records)


async def test_started_with_many_warnings_fits_one_message(world: World) -> None:
    codes = " ".join(str(10**19 + n) for n in range(15))
    before = {m.id for m in bot_messages(world)}
    result = await world.alice.slash(world.channel, "imagine", prompt=f"a fox --sref {codes}")
    content = answer(result)
    # Started, or first in the queue an instant before the free worker takes it.
    assert content.startswith(("Started.", "Queued (#1).")) and content.count("⚠️") >= 5
    assert [m for m in bot_messages(world) if m.id not in before]


async def test_prefer_confirmations_and_lists_fit_one_message(world: World) -> None:
    for name in ("one", "two", "three"):
        flags = "--no " + ", ".join([name * 3] * (MAX_FLAGS_LENGTH // (3 * len(name) + 2) - 2))
        answer(await world.alice.slash(world.channel, "prefer option set", name=name, flags=flags))
    listed = answer(await world.alice.slash(world.channel, "prefer option list"))
    assert listed.startswith("--one:") and listed.endswith("…")


# --- 5. the channel rules hold for every command and button --------------------------------


async def test_buttons_and_every_command_obey_the_allowed_channels(
    world: World, app: ImagineApp
) -> None:
    grid = await grid_of(world)
    job_id = button_ids(grid)[0].split(":")[1]
    elsewhere = world.guild.create_text_channel("elsewhere")
    discord_settings = app.settings.discord.model_copy(update={"allowed_channels": (elsewhere.id,)})
    app.settings = app.settings.model_copy(update={"discord": discord_settings})
    jobs_before = len(await app.service.jobs_of(world.alice.id, states=None))
    messages_before = len(bot_messages(world))

    pressed = await world.alice.click(grid, label="V1")
    assert pressed.ephemeral and pressed.response is not None
    assert "not enabled in this channel" in pressed.response.content
    for name, options in [("show", {"job_id": job_id}), ("imagine", {"prompt": "a fox"})]:
        refused = await world.alice.slash(world.channel, name, **options)
        assert "not enabled in this channel" in answer(refused)
    for name in ("info", "queue", "settings"):
        assert "not enabled in this channel" in answer(await world.alice.slash(world.channel, name))
    assert len(await app.service.jobs_of(world.alice.id, states=None)) == jobs_before
    assert len(bot_messages(world)) == messages_before


# --- 8. words: /show answers privately, a refused /admin is no error -----------------------


async def test_show_with_a_wrong_id_answers_privately(world: World) -> None:
    result = await world.alice.slash(world.channel, "show", job_id="0" * 32)
    assert answer(result) == "You have no job with that id."
    assert bot_messages(world) == []


async def test_show_posts_the_grid_publicly_and_confirms_privately(world: World) -> None:
    grid = await grid_of(world)
    result = await world.alice.slash(
        world.channel, "show", job_id=button_ids(grid)[0].split(":")[1]
    )
    assert answer(result) == "Posted."
    shown = bot_messages(world)[-1]
    assert shown.id != grid.id and button_ids(shown) and not shown.flags.ephemeral


async def test_a_refused_admin_command_logs_no_error(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        result = await world.bob.slash(world.channel, "admin pause")
    assert "Only server managers" in answer(result)
    assert not [r for r in caplog.records if "Ignoring exception" in r.getMessage()]


async def test_button_jobs_do_not_warn_about_flags_they_apply(
    world: World, app: ImagineApp
) -> None:
    grid = await grid_of(world, "a fox --no text --s 250")
    result = await world.alice.click(grid, label="V1")
    notes = " ".join(reply.content for reply in result.followups)
    assert notes.startswith(("Started.", "Queued (#1).")) and "has no effect" not in notes
    child = [job for job in await app.service.jobs_of(world.alice.id) if job.parent_id]
    assert child and child[0].spec.negative_prompt == "text"


async def test_image_actions_run_at_least_one_step_at_quality_quarter(
    world: World, app: ImagineApp
) -> None:
    grid = await grid_of(world, "a fox --q .25")
    await world.alice.click(grid, label="V1")
    await world.alice.click(grid, label="U1")
    single = bot_messages(world)[-1]
    await world.alice.click(single, label="Vary (Subtle)")
    children = [job for job in await app.service.jobs_of(world.alice.id) if job.parent_id]
    assert len(children) == 2
    assert [job.state for job in children] == ["delivered", "delivered"], [
        job.error for job in children
    ]


async def test_warnings_from_the_gpu_worker_are_shown_with_the_result(
    world: World, app: ImagineApp
) -> None:
    grid = await grid_of(world)
    await world.alice.click(grid, label="U1")
    await world.alice.click(bot_messages(world)[-1], label="Upscale (Subtle)")
    upscaled = bot_messages(world)[-1]
    (job,) = [job for job in await app.service.jobs_of(world.alice.id) if job.parent_id]
    assert job.warnings and NO_WEIGHTS_WARNING in job.warnings
    assert f"⚠️ {NO_WEIGHTS_WARNING}"[:200] in upscaled.content


# --- 2. a job accepted just before a crash is delivered ------------------------------------


async def test_a_job_without_its_message_is_posted_after_a_restart(
    world: World, app: ImagineApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The process died between writing the job's row and posting its message; it restarts
    # with the job still queued.
    await app.service.pause()
    specs = await app.planner.plan("a lighthouse at dusk --seed 7")
    (job,) = await app.service.submit(
        Requester(world.alice.id), specs, interaction_id=1, channel_id=world.channel.id
    )
    monkeypatch.setattr(
        JobWatcher,
        "_next_event",
        lambda self, queue: world.env.external_wait(queue.get(), reason="job events"),
    )
    await world.env.restart_bot(ImagineBot(app))
    (posted,) = bot_messages(world)
    assert f"(Queued: {PAUSED})" in posted.content
    assert world.alice.id in [user.id for user in posted.mentions]

    await app.service.resume()
    for _ in range(6000):  # the GPU worker runs outside SimCord's clock
        record = await app.service.job(job.id)
        if record is not None and record.state == "delivered":
            break
        await asyncio.sleep(0.05)
    await world.env.settle()
    (delivered,) = bot_messages(world)
    assert delivered.content.startswith("**a lighthouse at dusk --seed 7**")
    assert button_ids(delivered) and all(job.id in custom_id for custom_id in button_ids(delivered))
    assert (await app.service.job(job.id)).state == "delivered"  # type: ignore[union-attr]
