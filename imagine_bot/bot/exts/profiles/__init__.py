"""/profile: styles made of images for ``--p`` (create from a moodboard or from favourites,
list, delete)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagine_bot.bot.exts.profiles._cog import Profiles

if TYPE_CHECKING:
    from imagine_bot.bot.client import ImagineBot


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(Profiles(bot.app))
