"""/blend: one grid from two to five images alone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagine_bot.bot.exts.blend._cog import Blend

if TYPE_CHECKING:
    from imagine_bot.bot.client import ImagineBot


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(Blend(bot))
