"""/profile through SimCord: a moodboard, a bad attachment refused, shared profiles for admins
only, --p on a job, the default learned from U and stars, from-favourites, list and delete."""

from __future__ import annotations

import discord
import simcord

from imagine_bot.app import ImagineApp
from imagine_bot.bot.jobs.buttons import STAR
from tests.bot.conftest import SIMCORD, World, button_ids
from tests.bot.test_loop import png

pytestmark = SIMCORD


def bot_messages(world: World) -> list[discord.Message]:
    return [m for m in world.channel.history() if m.author.id == world.env.bot.user.id]


def answer(result: simcord.InteractionResult) -> str:
    """A command's private answer (deferred: its follow-up; else the response itself)."""
    if result.followups:
        return str(result.followups[-1].content)
    assert result.response is not None
    return str(result.response.content)


async def profile(
    member: simcord.MemberActor, world: World, command: str, **options: object
) -> str:
    return answer(await member.slash(world.channel, f"profile {command}", **options))


async def test_a_moodboard_profile_conditions_a_job_and_is_listed_and_deleted(
    world: World, app: ImagineApp
) -> None:
    red, blue = ("red.png", png((220, 20, 20))), ("blue.png", png((20, 20, 220)))
    refused = await profile(
        world.alice, world, "create", name="warm", image1=red, image2=("notes.txt", b"hello")
    )
    assert refused == "notes.txt is not an image, so no profile was made."
    assert await app.service.profiles.usable_by(world.alice.id) == []
    assert "admin" in await profile(
        world.bob, world, "create", name="house", image1=red, image2=blue, shared=True
    )
    assert await app.service.jobs_of(world.alice.id, states=None) == []  # nothing charged

    made = await profile(world.alice, world, "create", name="Warm", image1=red, image2=blue)
    assert made.startswith("Made your profile `warm` from 2 images")
    assert "`--p warm`: 2 images" in await profile(world.alice, world, "list")
    assert "no profile named 'warm'" in answer(
        await world.bob.slash(world.channel, "imagine", prompt="a fox --p warm")
    )

    await world.alice.slash(world.channel, "imagine", prompt="a fox --p warm")
    (job,) = await app.service.jobs_of(world.alice.id, states=None)
    (warm,) = await app.service.profiles.usable_by(world.alice.id)
    assert [(ref.sha256, ref.role) for ref in job.spec.references] == [
        (sha, "style") for sha, _ in warm.images
    ]
    assert job.spec.reference_scales["style"] > 0 and job.state == "delivered"

    assert await profile(world.alice, world, "delete", name="warm") == "Deleted."
    assert "no profile named" in await profile(world.alice, world, "delete", name="warm")


async def test_the_default_is_learned_from_u_and_stars_and_favourites_make_a_profile(
    world: World, app: ImagineApp
) -> None:
    too_few = await profile(world.alice, world, "from-favourites", name="faves")
    assert "you have starred 0" in too_few
    await world.alice.slash(world.channel, "imagine", prompt="a red fox")
    grid = bot_messages(world)[-1]
    job_id = button_ids(grid)[0].split(":")[1]
    await world.alice.click(grid, label="U2")
    (learned,) = await app.service.profiles.usable_by(world.alice.id)
    job = await app.service.job(job_id)
    assert job is not None and learned.name == "" and learned.images == ((job.image_shas[1], 2.0),)

    await world.alice.click(grid, custom_id=f"{STAR}:{job_id}:0")
    made = await profile(world.alice, world, "from-favourites", name="faves")
    assert made.startswith("Made your profile `faves` from 4 images")
    listed = await profile(world.alice, world, "list")
    assert "`--p`: your default, learned from 4 images" in listed and "`--p faves`" in listed
