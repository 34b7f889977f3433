"""/settings and /prefer: a member's defaults and macros."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagine_bot.bot.exts.preferences._cog import Preferences, SettingButton

if TYPE_CHECKING:
    from imagine_bot.bot.client import ImagineBot


async def setup(bot: ImagineBot) -> None:
    bot.add_dynamic_items(SettingButton)
    await bot.add_cog(Preferences(bot.app))
