"""Rerun as HD, Fix Faces and Retexture under a single image, through the real bot on SimCord."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from imagine_bot.app import ImagineApp
from imagine_bot.config import Settings, load_settings
from imagine_bot.engine.jobs.records import Requester
from imagine_bot.engine.spec import JobState
from tests.bot.conftest import SIMCORD, World, button_ids
from tests.bot.test_discord import bot_messages, imagine, labels
from tests.bot.test_loop import prompt_default
from tests.support.tiny_structure import structure_env

pytestmark = SIMCORD


async def test_rerun_as_hd_posts_the_image_at_twice_its_side(world: World, app: ImagineApp) -> None:
    _, grid = await imagine(world, "a red fox")
    await world.alice.click(grid, label="U1")
    single = bot_messages(world)[-1]
    assert "Rerun as HD" in labels(single) and "Fix Faces" in labels(single)

    jobs_before = len(await app.service.jobs_of(world.alice.id, states=None))
    refused = await world.bob.click(single, label="Rerun as HD")
    (refusal,) = refused.followups
    assert refusal.ephemeral and "Only the person who started this job" in refusal.content
    assert len(await app.service.jobs_of(world.alice.id, states=None)) == jobs_before

    await world.alice.click(single, label="Rerun as HD")
    hd = bot_messages(world)[-1]
    assert f"- HD by <@{world.alice.id}>" in hd.content
    assert len(hd.attachments) == 1
    assert "Rerun as HD" not in labels(hd) and "Fix Faces" in labels(hd)
    job = await app.service.job(button_ids(hd)[0].split(":")[1])
    assert job is not None and job.spec.action == "rerun_hd" and job.charged_seconds
    (path,) = job.image_paths
    with Image.open(path) as image:
        assert image.size == (256, 256)


async def test_fix_faces_on_a_picture_without_a_face_says_so_and_costs_nothing(
    world: World, app: ImagineApp
) -> None:
    _, grid = await imagine(world, "a red fox")
    await world.alice.click(grid, label="U2")
    single = bot_messages(world)[-1]
    used = (await app.service.quota_status(Requester(world.alice.id))).used
    await world.alice.click(single, label="Fix Faces")
    failed = bot_messages(world)[-1]
    assert "No faces were found in this picture" in failed.content
    assert failed.attachments == [] and button_ids(failed) == []
    (job,) = [j for j in await app.service.jobs_of(world.alice.id, states=None) if j.spec.fix]
    assert job.state == JobState.FAILED and job.charged_seconds is None
    quota = await app.service.quota_status(Requester(world.alice.id))
    assert quota.used == used and quota.held == 0


@pytest.fixture
def bot_settings(tmp_path: Path, test_env: dict[str, str], settings: Settings) -> Settings:
    """The tests' bot settings, with the tiny ControlNet on the tiny preset (Retexture)."""
    env = {**test_env, **structure_env(settings.paths.models)}
    return load_settings(env={**env, "IMAGINE_PATHS__DATA_DIR": str(tmp_path)})


async def test_retexture_opens_the_prompt_and_keeps_the_images_structure(
    world: World, app: ImagineApp
) -> None:
    _, grid = await imagine(world, "a red fox --ar 3:2")
    await world.alice.click(grid, label="U1")
    single = bot_messages(world)[-1]
    refused = await world.bob.click(single, label="Retexture")
    assert refused.modal is None  # a stranger gets no form
    shown = await world.alice.click(single, label="Retexture")
    assert prompt_default(shown) == "a red fox --ar 3:2"  # no --zoom: that is Custom Zoom's
    await world.alice.submit_modal(shown, {"prompt": "a glass fox --ar 3:2"})
    (child,) = [
        job for job in await app.service.jobs_of(world.alice.id, states=None) if job.parent_id
    ]
    assert child.spec.action == "retexture" and child.spec.prompt == "a glass fox"
    assert child.spec.structure is not None and child.spec.source is None
    assert child.state == JobState.DELIVERED and "Retextured by" in bot_messages(world)[-1].content
    parent = await app.service.job(child.parent_id or "")
    assert parent is not None
    assert (child.spec.width, child.spec.height) == (parent.spec.width, parent.spec.height)
