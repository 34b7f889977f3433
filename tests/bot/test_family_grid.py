"""A FLUX-shaped model through the bot on SimCord: live previews of its packed latents, the
grid, and its buttons."""

from __future__ import annotations

from pathlib import Path

import discord
import pytest
from PIL import Image

from imagine_bot.app import ImagineApp
from imagine_bot.config import Settings, load_settings
from imagine_bot.engine.jobs.records import ProgressEvent
from tests.bot.conftest import SIMCORD, World, button_ids
from tests.bot.test_discord import GRID_BUTTONS, bot_messages, imagine, labels

pytestmark = SIMCORD


@pytest.fixture
def bot_settings(tmp_path: Path, test_env: dict[str, str]) -> Settings:
    """A preview after every step (tiny-flux runs 4)."""
    env = {
        **test_env,
        "IMAGINE_PATHS__DATA_DIR": str(tmp_path),
        "IMAGINE_ENGINE__PREVIEW_EVERY": "1",
    }
    return load_settings(env=env)


def preview_edits(world: World, message: discord.Message) -> list[str]:
    """The file names of the pictures the bot put on ``message`` while the job ran."""
    return [
        attachment["filename"]
        for entry in world.env.http_requests
        if entry.method == "PATCH"
        and entry.path.endswith(f"/messages/{message.id}")
        and isinstance(entry.json, dict)
        for attachment in entry.json.get("attachments", [])
        if "_preview" in attachment.get("filename", "")
    ]


async def test_a_flux_grid_arrives_with_live_previews_and_its_buttons_work(
    world: World, app: ImagineApp
) -> None:
    previews: list[tuple[int, Image.Image]] = []
    app.service.subscribe(
        lambda event: (
            previews.append((event.done, event.preview))
            if isinstance(event, ProgressEvent) and event.preview is not None
            else None
        )
    )
    _, grid = await imagine(world, "a lighthouse --ar 3:2 --seed 7 --model tiny-flux")
    job = await app.service.job(button_ids(grid)[0].split(":")[1])
    assert job is not None and job.spec.model == "tiny-flux"
    assert job.spec.width > job.spec.height
    # The watcher's live previews: the packed latents unpacked, after steps 1-3 of 4 (the grid
    # follows the 4th). This job is faster than the bot's progress interval, so Discord shows
    # the ones that arrive after the message exists: at most these.
    assert [done for done, _ in previews] == [1, 2, 3]
    width, height = previews[0][1].size
    assert width > height  # the 2x2 grid of 3:2 previews
    assert len(preview_edits(world, grid)) <= 3
    final = next(m for m in world.channel.history() if m.id == grid.id)
    assert labels(final) == GRID_BUTTONS and len(final.attachments) == 1

    await world.alice.click(final, label="V2")
    varied = bot_messages(world)[-1]
    assert varied.id != grid.id and labels(varied) == GRID_BUTTONS

    await world.alice.click(final, label="U1")
    single = bot_messages(world)[-1]
    assert "Image #1" in single.content
    for button in ("Vary (Strong)", "Zoom Out 2x", "Make Square"):
        await world.alice.click(single, label=button)
        made = bot_messages(world)[-1]
        assert made.id != single.id, button
        assert labels(made) == GRID_BUTTONS, button
        made_job = await app.service.job(button_ids(made)[0].split(":")[1])
        assert made_job is not None and made_job.spec.model == "tiny-flux", button
