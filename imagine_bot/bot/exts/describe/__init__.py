"""/describe: four prompts for an image, each a button that imagines it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagine_bot.bot.exts.describe._cog import Describe, DescribeButton
from imagine_bot.engine.spec import DESCRIBE

if TYPE_CHECKING:
    from imagine_bot.bot.client import ImagineBot


async def setup(bot: ImagineBot) -> None:
    bot.add_dynamic_items(DescribeButton)
    cog = Describe(bot)
    bot.watcher.resume_with(DESCRIBE, cog.resume)
    await bot.add_cog(cog)
