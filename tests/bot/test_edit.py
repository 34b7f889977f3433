"""Edit under a single image and /edit, through the real bot on SimCord (tiny FLUX.1 Kontext as
the tiny preset's edit model)."""

from __future__ import annotations

from pathlib import Path

import pytest
import simcord

from imagine_bot.app import ImagineApp
from imagine_bot.bot.client import ImagineBot
from imagine_bot.config import Settings, load_settings
from imagine_bot.engine.jobs.records import Requester
from imagine_bot.engine.spec import JobState
from tests.bot.conftest import SIMCORD, World
from tests.bot.test_discord import bot_messages, imagine, labels
from tests.bot.test_loop import CdnFetcher, jobs, png

pytestmark = [SIMCORD, pytest.mark.slow]  # each runs tiny Kontext edits of four seeds


@pytest.fixture
def bot_settings(tmp_path: Path, test_env: dict[str, str]) -> Settings:
    """The tests' bot settings, with tiny FLUX.1 Kontext as the tiny preset's edit model."""
    env = {**test_env, "IMAGINE_MODELS__TINY__EDIT_MODEL": "tiny-flux-kontext"}
    env["IMAGINE_FETCH__ALLOWED_HOSTS"] = '["cdn.simcord.invalid"]'
    return load_settings(env={**env, "IMAGINE_PATHS__DATA_DIR": str(tmp_path)})


@pytest.fixture(autouse=True)
def cdn(app: ImagineApp, env: simcord.Env) -> None:
    app.planner.fetcher = CdnFetcher(app.planner.fetcher, env)


async def test_edit_opens_the_form_and_delivers_four_edits(world: World, app: ImagineApp) -> None:
    _, grid = await imagine(world, "a street with a car --ar 3:2")
    await world.alice.click(grid, label="U1")
    single = bot_messages(world)[-1]
    assert "Edit" in labels(single)
    await world.env.restart_bot(ImagineBot(app))  # the button and its form need no memory

    refused = await world.bob.click(single, label="Edit")
    assert refused.modal is None  # a stranger gets no form
    shown = await world.alice.click(single, label="Edit")
    assert shown.modal is not None
    (row,) = shown.modal["components"]
    field = row.get("component") or row["components"][0]
    assert field["label"] == "What to change" and not field.get("value")
    assert field["max_length"] == 500  # Discord refuses a longer one in the form itself

    await world.alice.submit_modal(shown, {"prompt": "make it night"})
    (child,) = [job for job in await jobs(app, world) if job.spec.action == "edit"]
    assert (child.spec.model, child.spec.prompt) == ("tiny-flux-kontext", "make it night")
    assert child.state == JobState.DELIVERED and child.charged_seconds
    assert len(child.image_paths) == 4 and child.parent_id is not None
    delivered = bot_messages(world)[-1]
    assert f"- Edited by <@{world.alice.id}>" in delivered.content
    assert {"U1", "U4"} <= set(labels(delivered))
    await world.alice.click(delivered, label="U2")
    assert "Edit" in labels(bot_messages(world)[-1])  # an edit can be edited again


async def test_edit_is_not_offered_without_an_edit_model(world: World) -> None:
    _, grid = await imagine(world, "a street with a car --model tiny-sd3")
    await world.alice.click(grid, label="U1")
    assert "Edit" not in labels(bot_messages(world)[-1])


async def test_slash_edit_edits_any_picture_and_refuses_what_is_not_one(
    world: World, app: ImagineApp
) -> None:
    used = (await app.service.quota_status(Requester(world.alice.id))).used
    text = await world.alice.slash(
        world.channel,
        "edit",
        image=("notes.txt", b"not a picture at all"),
        instruction="make it night",
    )
    assert text.ephemeral and text.response is not None
    assert "is not a PNG, JPEG, WebP or GIF image" in text.response.content
    assert "\n" not in text.response.content
    none = await world.alice.slash(
        world.channel,
        "edit",
        image=("street.png", png((90, 90, 90), (96, 64))),
        instruction="make it night",
        model="tiny-sd3",
    )
    assert none.response is not None
    assert "set models.tiny-sd3.edit_model" in none.response.content
    assert await jobs(app, world) == []
    assert (await app.service.quota_status(Requester(world.alice.id))).used == used

    await world.alice.slash(
        world.channel,
        "edit",
        image=("street.png", png((90, 90, 90), (96, 64))),
        instruction="remove the car",
    )
    (job,) = await jobs(app, world)
    assert job.spec.action == "edit" and job.spec.prompt == "remove the car"
    assert job.state == JobState.DELIVERED and len(job.image_paths) == 4
    assert job.spec.width > job.spec.height  # the picture's ratio
