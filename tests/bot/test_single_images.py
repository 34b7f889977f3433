"""One image alone says what it is and offers only the buttons that make sense for it."""

from __future__ import annotations

from imagine_bot.app import ImagineApp
from imagine_bot.bot.messages import job_line, single_line
from imagine_bot.plugins.actions import Action, ActionRegistry
from imagine_bot.plugins.planner import JobPlanner
from tests.bot.conftest import SIMCORD, World, button_ids
from tests.bot.test_discord import bot_messages, imagine, labels


@SIMCORD
async def test_an_upscaled_image_is_titled_and_offers_no_second_upscale(
    world: World, app: ImagineApp
) -> None:
    _, grid = await imagine(world, "a red fox")
    await world.alice.click(grid, label="U1")
    single = bot_messages(world)[-1]
    assert "Image #1" in single.content and "Upscale (Subtle)" in labels(single)

    await world.alice.click(single, label="Upscale (Subtle)")
    upscaled = bot_messages(world)[-1]
    assert upscaled.id != single.id
    assert f"- Upscaled (Subtle) by <@{world.alice.id}>" in upscaled.content
    assert "Image #" not in upscaled.content
    assert "Upscale (Subtle)" not in labels(upscaled)
    assert "Upscale (Creative)" not in labels(upscaled)
    assert "Vary (Subtle)" in labels(upscaled) and "Zoom Out 2x" in labels(upscaled)
    job = await app.service.job(button_ids(upscaled)[0].split(":")[1])
    assert job is not None and job.spec.action == "upscale_subtle"


async def test_a_plugin_action_titles_the_messages_of_its_jobs(planner: JobPlanner) -> None:
    actions = ActionRegistry()
    actions.register(Action("sketch", "Sketch", "image", lambda draft, request: None))
    actions.register(
        Action("half", "Vary (Half)", "image", lambda draft, request: None, title="Varied (Half)")
    )
    (spec,) = await planner.plan("a red fox")
    grid = spec.model_copy(update={"action": "half"})
    assert job_line(grid, planner.flags, actions, 7, "fast").endswith(
        "- Varied (Half) by <@7> (fast)"
    )
    one = spec.model_copy(update={"action": "sketch", "seeds": spec.seeds[:1]})
    assert single_line(one, planner.flags, actions, 7, 1).endswith("- Sketch by <@7>")
    # picked from a prompt's grid, an image is known by its number
    assert single_line(spec, planner.flags, actions, 7, 3).endswith("- Image #3 <@7>")
