"""The real bot driven through SimCord: /imagine, its message, its buttons, restarts."""

from __future__ import annotations

import discord
import pytest
import simcord

from imagine_bot.app import ImagineApp
from imagine_bot.bot.client import ImagineBot
from imagine_bot.bot.jobs.watcher import JobWatcher
from tests.bot.conftest import SIMCORD, World, button_ids

pytestmark = SIMCORD

GRID_BUTTONS = ["U1", "U2", "U3", "U4", "Reroll", "V1", "V2", "V3", "V4", "⭐", "🗑"]


def labels(message: discord.Message) -> list[str]:
    return [
        str(child.label or child.emoji)
        for row in message.components
        for child in getattr(row, "children", [])
    ]


def bot_messages(world: World) -> list[discord.Message]:
    return [m for m in world.channel.history() if m.author.id == world.env.bot.user.id]


def edits_of(env: simcord.Env, message_id: int) -> list[str]:
    """The content of every edit the bot made to one message, in order."""
    return [
        entry.json["content"]
        for entry in env.http_requests
        if entry.method == "PATCH"
        and entry.path.endswith(f"/messages/{message_id}")
        and isinstance(entry.json, dict)
        and "content" in entry.json
    ]


async def imagine(world: World, prompt: str) -> tuple[simcord.InteractionResult, discord.Message]:
    before = {m.id for m in bot_messages(world)}
    result = await world.alice.slash(world.channel, "imagine", prompt=prompt)
    (message,) = [m for m in bot_messages(world) if m.id not in before]
    return result, message


async def test_imagine_goes_from_waiting_through_progress_to_a_grid(world: World) -> None:
    result, message = await imagine(world, "a lighthouse at dusk --ar 3:2 --seed 42")

    assert result.acknowledged and result.ephemeral
    first_answer = next(entry for entry in world.env.http_requests if "/callback" in entry.path)
    assert first_answer.json["type"] == 5  # deferred at once, before any work
    posted = next(
        entry.json
        for entry in world.env.http_requests
        if entry.method == "POST" and entry.path == f"/channels/{world.channel.id}/messages"
    )
    assert "**a lighthouse at dusk --ar 3:2 --seed 42**" in posted["content"]
    assert "(Waiting to start" in posted["content"]
    steps = edits_of(world.env, message.id)
    assert any("%)" in content for content in steps), steps
    final = next(m for m in world.channel.history() if m.id == message.id)
    assert labels(final) == GRID_BUTTONS
    assert [a.filename.endswith(".png") for a in final.attachments] == [True]
    job_id = button_ids(final)[0].split(":")[1]
    assert all(custom_id.split(":")[1] == job_id for custom_id in button_ids(final))
    assert all(len(custom_id) <= 100 for custom_id in button_ids(final))


async def test_u2_posts_image_two_alone_with_its_buttons(world: World, app: ImagineApp) -> None:
    _, grid = await imagine(world, "a red fox")
    await world.alice.click(grid, label="U2")
    single = world.channel.history()[-1]
    assert "Image #2" in single.content
    assert single.attachments[0].filename.endswith("_2.png")
    assert "Upscale (Subtle)" in labels(single) and "Vary (Strong)" in labels(single)
    assert "Make Square" not in labels(single)  # the image is square already


async def test_reroll_posts_a_new_grid_with_new_seeds(world: World, app: ImagineApp) -> None:
    _, grid = await imagine(world, "a red fox")
    await world.alice.click(grid, label="Reroll")
    rerolled = bot_messages(world)[-1]
    assert rerolled.id != grid.id and labels(rerolled) == GRID_BUTTONS
    first = await app.service.job(button_ids(grid)[0].split(":")[1])
    second = await app.service.job(button_ids(rerolled)[0].split(":")[1])
    assert first is not None and second is not None
    assert second.spec.prompt == first.spec.prompt and second.spec.seeds != first.spec.seeds


async def test_v3_posts_a_new_grid(world: World) -> None:
    _, grid = await imagine(world, "a red fox")
    result = await world.alice.click(grid, label="V3")
    varied = bot_messages(world)[-1]
    if varied.id == grid.id:
        pytest.fail(f"no new grid; the bot answered {result.followups}")
    assert labels(varied) == GRID_BUTTONS
    assert "Variations" in varied.content


async def test_a_strangers_click_is_refused_privately(world: World, app: ImagineApp) -> None:
    _, grid = await imagine(world, "a red fox")
    jobs_before = len(await app.service.jobs_of(world.alice.id, states=None))
    result = await world.bob.click(grid, label="V1")
    (refusal,) = result.followups
    assert refusal.ephemeral
    assert "Only the person who started this job" in refusal.content
    assert len(await app.service.jobs_of(world.alice.id, states=None)) == jobs_before


async def test_a_double_click_starts_one_job(
    world: World, app: ImagineApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, grid = await imagine(world, "a red fox")
    # Hold the queue so the first click's job is still pending when the second arrives, and
    # let SimCord treat the bot's wait for job events as the outside input it is.
    await app.service.pause()
    monkeypatch.setattr(
        JobWatcher,
        "_next_event",
        lambda self, queue: world.env.external_wait(queue.get(), reason="job events"),
    )
    await world.alice.click(grid, label="V1")
    second = await world.alice.click(grid, label="V1")
    (told,) = [reply.content for reply in second.followups]
    assert told.startswith("That job is already started: https://discord.com/channels/")
    children = [
        job
        for job in await app.service.jobs_of(world.alice.id, states=None)
        if job.parent_id is not None
    ]
    assert len(children) == 1
    await app.service.resume()


async def test_buttons_still_work_after_a_restart(world: World, app: ImagineApp) -> None:
    _, grid = await imagine(world, "a red fox")
    await world.env.restart_bot(ImagineBot(app))
    await world.alice.click(grid, label="U1")
    assert "Image #1" in world.channel.history()[-1].content


async def test_everyone_in_a_prompt_pings_nobody(world: World) -> None:
    _, message = await imagine(world, "@everyone look at this <@&1234> fox")
    assert not message.mention_everyone
    assert message.role_mentions == []


async def test_an_invalid_prompt_gets_a_readable_private_error(
    world: World, app: ImagineApp
) -> None:
    result = await world.alice.slash(world.channel, "imagine", prompt="a fox --arr 16:9")
    assert result.ephemeral and result.response is not None
    assert "Did you mean --ar?" in result.response.content
    assert "Traceback" not in result.response.content
    assert await app.service.jobs_of(world.alice.id, states=None) == []


async def test_warnings_are_shown_privately(world: World) -> None:
    result, _ = await imagine(world, "a fox --weird 20")
    assert result.ephemeral and result.response is not None
    assert "--weird has no effect" in result.response.content


async def test_a_429_on_the_upload_is_survived(world: World) -> None:
    world.env.inject_error("PATCH", f"/channels/{world.channel.id}/messages/*", status=429, times=2)
    _, message = await imagine(world, "a red fox")
    assert labels(message) == GRID_BUTTONS


async def test_show_posts_a_job_again_with_live_buttons(world: World) -> None:
    _, grid = await imagine(world, "a red fox")
    job_id = button_ids(grid)[0].split(":")[1]
    await world.alice.slash(world.channel, "show", job_id=job_id)
    shown = bot_messages(world)[-1]
    assert shown.id != grid.id and labels(shown) == GRID_BUTTONS


async def test_prefer_option_and_suffix_shape_later_prompts(world: World, app: ImagineApp) -> None:
    await world.alice.slash(
        world.channel, "prefer option set", name="wide", flags="--ar 2:1 --no text"
    )
    await world.alice.slash(world.channel, "prefer suffix", flags="--s 250")
    await imagine(world, "a red fox --wide")
    (job,) = await app.service.jobs_of(world.alice.id, states=None)
    assert job.spec.flags["ar"] == "2:1" and job.spec.flags["stylize"] == 250
    assert job.spec.width == 2 * job.spec.height and job.spec.negative_prompt == "text"


async def test_a_macro_may_not_shadow_a_flag(world: World) -> None:
    result = await world.alice.slash(
        world.channel, "prefer option set", name="ar", flags="--ar 2:1"
    )
    assert result.response is not None and "already a flag" in result.response.content


async def test_settings_panel_shows_the_current_choices_before_any_press(
    world: World, app: ImagineApp
) -> None:
    panel = await world.alice.slash(world.channel, "settings")
    assert panel.response is not None
    message = panel.response.message
    lit = {
        child.label
        for row in message.components
        for child in getattr(row, "children", [])
        if getattr(child, "style", None) == discord.ButtonStyle.success
    }
    model = app.settings.default_model
    assert lit == {model, "Stylize med", "Fast mode"}
    assert f"model {model}, stylize med, fast mode, raw mode off" in panel.response.content
    pressed = await world.alice.click(message, label="Relax mode")
    assert pressed.response is not None and ", relax mode," in pressed.response.content


async def test_settings_panel_choices_apply_to_the_next_prompt(
    world: World, app: ImagineApp
) -> None:
    panel = await world.alice.slash(world.channel, "settings")
    assert panel.response is not None
    await world.alice.click(panel.response.message, label="Relax mode")
    await world.alice.click(panel.response.message, label="Raw mode")
    assert await app.service.preferences(world.alice.id) == {"lane": "relax", "raw": True}
    await imagine(world, "a red fox")
    (job,) = await app.service.jobs_of(world.alice.id, states=None)
    assert job.lane == "relax" and job.spec.flags.get("raw") is True


async def test_info_shows_the_quota_and_cancel_refuses_a_finished_job(
    world: World, app: ImagineApp
) -> None:
    _, grid = await imagine(world, "a red fox")
    info = await world.alice.slash(world.channel, "info")
    assert info.response is not None and "Queued jobs: 0" in info.response.content
    job_id = button_ids(grid)[0].split(":")[1]
    cancel = await world.alice.slash(world.channel, "cancel", job_id=job_id)
    assert cancel.response is not None and cancel.ephemeral
    assert (await app.service.job(job_id)).state == "delivered"  # type: ignore[union-attr]
