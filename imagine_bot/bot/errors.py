"""The one answer to a command or button that failed, and the bound on every message.

discord.py's default for an error in a slash command or a button is a log line and no
answer, so the member sees "This interaction failed". Every path ends here instead: a private
sentence for the member, the details in the log.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from imagine_bot.engine.errors import UserError

log = logging.getLogger(__name__)

MAX_CONTENT = 2000
"""Discord refuses a message whose content is longer."""
SERVER_FAULT = (
    "Something went wrong on the server while doing that; the details are in the bot's log "
    "for the admin. Please try again later."
)


def fit(text: str, limit: int = MAX_CONTENT) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when something was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def answer_failure(interaction: discord.Interaction[Any], error: BaseException) -> None:
    """Tell the member privately why their command or press did nothing, and log the cause.

    Installed as the command tree's error handler; button callbacks call it too.
    """
    cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if isinstance(cause, app_commands.CheckFailure):
        return  # the check already answered (e.g. /admin for a non-admin): nothing to log
    if isinstance(cause, UserError):
        text = str(cause)
    else:
        command = interaction.command.qualified_name if interaction.command else "a button"
        log.error("%s failed for user %s", command, interaction.user.id, exc_info=cause)
        text = SERVER_FAULT
    try:
        if interaction.response.is_done():
            await interaction.followup.send(fit(text), ephemeral=True)
        else:
            await interaction.response.send_message(fit(text), ephemeral=True)
    except discord.HTTPException:
        log.warning("could not tell user %s about a failure", interaction.user.id, exc_info=True)
