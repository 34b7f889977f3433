"""/imagine and the commands about one's own jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagine_bot.bot.exts.imagine._cog import Imagine

if TYPE_CHECKING:
    from imagine_bot.bot.client import ImagineBot


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(Imagine(bot.app, bot.desk))
