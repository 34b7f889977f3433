"""Remix mode and Custom Zoom: the prompt form a job button opens, and its submission."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from imagine_bot.bot.exts.remix._cog import Remix
from imagine_bot.bot.exts.remix.form import open_prompt_form

if TYPE_CHECKING:
    from imagine_bot.bot.client import ImagineBot


async def setup(bot: ImagineBot) -> None:
    bot.desk.use_form(functools.partial(open_prompt_form, bot))
    await bot.add_cog(Remix(bot))
