"""The channel rules hold on the two paths that skipped them: the /settings panel's buttons,
and a Vary (Region) link made in a channel since removed from ``allowed_channels``."""

from __future__ import annotations

from imagine_bot.app import ImagineApp
from tests.bot.conftest import SIMCORD, World
from tests.bot.exts.region.conftest import editor_link, mask_png, post, single_image
from tests.bot.test_gallery import get

pytestmark = SIMCORD

REFUSED = "not enabled in this channel"


def allow_only(app: ImagineApp, channel_id: int) -> None:
    discord_settings = app.settings.discord.model_copy(update={"allowed_channels": (channel_id,)})
    app.settings = app.settings.model_copy(update={"discord": discord_settings})


async def test_a_settings_button_obeys_the_allowed_channels(world: World, app: ImagineApp) -> None:
    panel = await world.alice.slash(world.channel, "settings")
    assert panel.response is not None
    allow_only(app, world.guild.create_text_channel("elsewhere").id)
    pressed = await world.alice.click(panel.response.message, label="Relax mode")
    assert pressed.response is not None and REFUSED in pressed.response.content
    assert await app.service.preferences(world.alice.id) == {}


async def test_a_region_link_obeys_the_allowed_channels_when_used(
    world: World, app: ImagineApp
) -> None:
    single = await single_image(world)
    url = await editor_link(world, single)
    allow_only(app, world.guild.create_text_channel("elsewhere").id)
    status, page = await post(url, "a lighthouse at dawn", mask_png())
    assert status == 403 and REFUSED in page
    jobs = await app.service.jobs_of(world.alice.id, states=None)
    assert [job.action for job in jobs if job.action == "vary_region"] == []
    status, page = await get(url)  # the page itself no longer opens either
    assert status == 403 and REFUSED in page
