"""The content policy in Discord: flagged results blocked with a refund, spoilered, or allowed
in age-restricted channels; a banned word refused before anything is queued."""

from __future__ import annotations

from pathlib import Path

import discord
import pytest

from imagine_bot.app import ImagineApp
from imagine_bot.bot.client import ImagineBot
from imagine_bot.bot.jobs.content import ALLOWED_NOTE, SPOILER_NOTE
from imagine_bot.config import Settings, load_settings
from imagine_bot.engine.jobs.records import JobRecord, Requester
from imagine_bot.engine.spec import JobState
from imagine_bot.plugins.builtin.safety import REFUSAL
from tests.bot.conftest import SIMCORD, World, button_ids
from tests.support.tiny_classifier import build_tiny_classifier

pytestmark = SIMCORD


@pytest.fixture(scope="module")
def flagging(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_classifier(tmp_path_factory.mktemp("nsfw-classifier"), "nsfw")


@pytest.fixture(params=["block", "spoiler"])
def bot_settings(
    request: pytest.FixtureRequest, tmp_path: Path, test_env: dict[str, str], flagging: Path
) -> Settings:
    """Every result is flagged; ``policy`` applies outside age-restricted channels."""
    return load_settings(
        env={
            **test_env,
            "IMAGINE_PATHS__DATA_DIR": str(tmp_path),
            "IMAGINE_SAFETY__CLASSIFIER": str(flagging),
            "IMAGINE_SAFETY__POLICY": request.param,
            "IMAGINE_SAFETY__BLOCKED_WORDS": '["gore"]',
        }
    )


def bot_messages(world: World) -> list[discord.Message]:
    return [m for m in world.channel.history() if m.author.id == world.env.bot.user.id]


async def imagine(world: World, app: ImagineApp, prompt: str) -> tuple[discord.Message, JobRecord]:
    await world.alice.slash(world.channel, "imagine", prompt=prompt)
    message = bot_messages(world)[-1]
    (job,) = await app.service.jobs_of(world.alice.id)
    return message, job


async def test_flagged_results_follow_the_channel_policy(
    world: World, app: ImagineApp, bot_settings: Settings
) -> None:
    message, job = await imagine(world, app, "a lighthouse at dusk")
    quota = await app.service.quota_status(Requester(world.alice.id))
    if bot_settings.safety.policy == "block":
        # Failed with a plain sentence, nothing posted, and nothing charged or held.
        assert job.state == JobState.FAILED and job.error is not None
        assert "content filter" in job.error and "refunded" in job.error
        assert job.image_paths == () and job.charged_seconds is None
        assert quota.used == 0 and quota.held == 0
        assert message.attachments == [] and "content filter" in message.content
        assert button_ids(message) == []
    else:
        assert job.state == JobState.DELIVERED and job.spec.content_policy == "spoiler"
        assert job.flagged == (1, 2, 3, 4)
        assert quota.used > 0
        (attachment,) = message.attachments
        assert attachment.is_spoiler() and attachment.filename.endswith(".png")
        assert SPOILER_NOTE in message.content
        # U1 shows image 1 alone, behind a spoiler too.
        await world.alice.click(message, label="U1")
        single = bot_messages(world)[-1]
        assert single.id != message.id and single.attachments[0].is_spoiler()
        assert SPOILER_NOTE in single.content


async def test_an_age_restricted_channel_allows_flagged_results(
    world: World, app: ImagineApp, simcord_bot: ImagineBot
) -> None:
    # SimCord's channels have no age restriction; Discord sends it as the channel's `nsfw`.
    cached = simcord_bot.get_channel(world.channel.id)
    assert isinstance(cached, discord.TextChannel)
    cached.nsfw = True
    message, job = await imagine(world, app, "a lighthouse at dusk")
    assert job.state == JobState.DELIVERED and job.spec.content_policy == "allow"
    assert job.flagged == (1, 2, 3, 4)
    (attachment,) = message.attachments
    assert not attachment.is_spoiler()
    assert ALLOWED_NOTE in message.content


async def test_a_blocked_word_is_refused_privately_and_queues_nothing(
    world: World, app: ImagineApp
) -> None:
    result = await world.alice.slash(world.channel, "imagine", prompt="a scene full of GORE")
    assert result.ephemeral and result.response is not None
    assert result.response.content == REFUSAL
    assert await app.service.jobs_of(world.alice.id) == []
    assert bot_messages(world) == []
