"""The star, Rerun (Reroll) and Delete buttons through SimCord, on a grid and on one image."""

from __future__ import annotations

import discord

from imagine_bot.app import ImagineApp
from imagine_bot.bot.client import ImagineBot
from imagine_bot.bot.jobs.buttons import DELETE, STAR
from tests.bot.conftest import SIMCORD, World, button_ids

pytestmark = SIMCORD


def bot_messages(world: World) -> list[discord.Message]:
    return [m for m in world.channel.history() if m.author.id == world.env.bot.user.id]


def job_of(message: discord.Message) -> str:
    return button_ids(message)[0].split(":")[1]


def one_id(message: discord.Message, action: str) -> str:
    (custom_id,) = [c for c in button_ids(message) if c.startswith(f"{action}:")]
    return custom_id


async def grid_and_image(world: World) -> tuple[discord.Message, discord.Message]:
    """Alice's grid and its image #2 posted alone (U2)."""
    await world.alice.slash(world.channel, "imagine", prompt="a red fox")
    grid = bot_messages(world)[-1]
    await world.alice.click(grid, label="U2")
    return grid, bot_messages(world)[-1]


async def stars(world: World, app: ImagineApp, user_id: int) -> list[tuple[str, int]]:
    starred = await app.service.starred_images([world.channel.id], user_id, 0, 10)
    return [(job.id, index) for job, index in starred]


async def test_a_star_toggles_privately_for_anyone_and_survives_a_restart(
    world: World, app: ImagineApp
) -> None:
    grid, image = await grid_and_image(world)
    job_id = job_of(grid)
    assert one_id(grid, STAR) == f"star:{job_id}:0"
    assert one_id(image, STAR) == f"star:{job_id}:2"

    starred = await world.bob.click(grid, custom_id=one_id(grid, STAR))  # not his job: fine
    (answer,) = starred.followups
    assert answer.ephemeral and "This grid is in your favourites" in answer.content
    await world.alice.click(image, custom_id=one_id(image, STAR))
    assert await stars(world, app, world.bob.id) == [(job_id, 0)]
    assert await stars(world, app, world.alice.id) == [(job_id, 2)]

    await world.env.restart_bot(ImagineBot(app))
    unstarred = await world.bob.click(grid, custom_id=one_id(grid, STAR))
    (answer,) = unstarred.followups
    assert answer.ephemeral and "no longer in your favourites" in answer.content
    assert await stars(world, app, world.bob.id) == []
    assert await stars(world, app, world.alice.id) == [(job_id, 2)]


async def test_rerun_under_a_grid_and_under_an_image_is_the_prompt_with_new_seeds(
    world: World, app: ImagineApp
) -> None:
    grid, image = await grid_and_image(world)
    parent = await app.service.job(job_of(grid))
    assert parent is not None
    for message in (grid, image):
        before = len(bot_messages(world))
        await world.alice.click(message, label="Reroll")
        (rerun,) = bot_messages(world)[before:]
        child = await app.service.job(job_of(rerun))
        assert child is not None and child.parent_id == parent.id
        assert child.spec.prompt == parent.spec.prompt and child.spec.source is None
        assert child.spec.seeds != parent.spec.seeds and len(child.spec.seeds) == 4


async def test_delete_removes_the_owners_message_and_hides_the_job(
    world: World, app: ImagineApp
) -> None:
    grid, image = await grid_and_image(world)
    job_id = job_of(grid)

    refused = await world.bob.click(grid, custom_id=one_id(grid, DELETE))
    (answer,) = refused.followups
    assert answer.ephemeral and "Only the person who started this job" in answer.content
    assert grid.id in {m.id for m in bot_messages(world)}

    # Deleting the U2 post removes that message only; the job stays listed.
    await world.alice.click(image, custom_id=one_id(image, DELETE))
    assert image.id not in {m.id for m in bot_messages(world)}
    job = await app.service.job(job_id)
    assert job is not None and not job.deleted

    await world.env.restart_bot(ImagineBot(app))
    deleted = await world.alice.click(grid, custom_id=one_id(grid, DELETE))
    (answer,) = deleted.followups
    assert answer.ephemeral and answer.content == "Deleted."
    assert grid.id not in {m.id for m in bot_messages(world)}
    job = await app.service.job(job_id)
    assert job is not None and job.deleted and job.state == "delivered"
    assert len(job.image_paths) == 4 and all(path.exists() for path in job.image_paths)
    assert job.charged_seconds is not None  # the ledger keeps what it cost
    assert await app.service.delivered_jobs([world.channel.id], None, 0, 10) == []
