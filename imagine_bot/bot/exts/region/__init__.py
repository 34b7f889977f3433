"""Vary (Region): the button's signed link and the web editor it opens."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagine_bot.bot.exts.region._editor import RegionEditor
from imagine_bot.plugins.builtin.region import VARY_REGION

if TYPE_CHECKING:
    from imagine_bot.bot.client import ImagineBot


async def setup(bot: ImagineBot) -> None:
    editor = RegionEditor(bot)
    bot.desk.on_press(VARY_REGION, editor.open)
    bot.web.add_routes(editor.routes())
