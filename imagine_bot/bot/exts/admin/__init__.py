"""/admin: pausing the queue and members' GPU time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagine_bot.bot.exts.admin._cog import Admin

if TYPE_CHECKING:
    from imagine_bot.bot.client import ImagineBot


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(Admin(bot.app))
