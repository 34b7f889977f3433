"""/edit: change any picture with words, through the preset's edit model."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagine_bot.bot.exts.edit._cog import Edit

if TYPE_CHECKING:
    from imagine_bot.bot.client import ImagineBot


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(Edit(bot))
