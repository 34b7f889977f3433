"""The star and Delete buttons under every grid and image (``bot/jobs/buttons.py`` draws them;
this extension answers their presses)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagine_bot.bot.exts.keepers._presses import Keepers
from imagine_bot.bot.jobs.buttons import DELETE, STAR

if TYPE_CHECKING:
    from imagine_bot.bot.client import ImagineBot


async def setup(bot: ImagineBot) -> None:
    keepers = Keepers(bot.app, bot.desk)
    # Anyone who sees a message may star it for themselves; only the owner deletes it.
    bot.desk.on_press(STAR, keepers.star, anyone=True)
    bot.desk.on_press(DELETE, keepers.delete)
