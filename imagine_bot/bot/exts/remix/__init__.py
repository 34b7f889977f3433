"""Remix mode and Custom Zoom: the prompt form a job button opens, and its submission."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagine_bot.bot.exts.remix._cog import Remix

if TYPE_CHECKING:
    from imagine_bot.bot.client import ImagineBot


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(Remix(bot))
