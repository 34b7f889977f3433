"""Submissions of the prompt form: the edited prompt becomes the button's job."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from imagine_bot.bot.errors import answer_failure
from imagine_bot.bot.exts.remix.form import FORM_ID, PROMPT_FIELD, submitted_value

if TYPE_CHECKING:
    from imagine_bot.bot.client import ImagineBot


class Remix(commands.Cog):
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        """Every interaction passes here; only prompt-form submissions are ours."""
        if interaction.type != discord.InteractionType.modal_submit or interaction.data is None:
            return
        match = FORM_ID.fullmatch(str(interaction.data.get("custom_id", "")))
        if match is None:
            return
        # The same checks and answers as the button itself (owner, job still stored ...).
        prompt = submitted_value(interaction.data, PROMPT_FIELD) or ""
        desk = self.bot.desk
        try:
            parent = await desk.let_through(interaction, match["job"], match["action"])
            if parent is not None:
                await desk.press(
                    interaction, parent, match["action"], int(match["index"]), prompt.strip()
                )
        except Exception as error:  # a listener's errors reach no handler: answer here
            await answer_failure(interaction, error)
