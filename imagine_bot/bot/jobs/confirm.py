"""A yes/no question to the person who asked, before work they might not have meant."""

from __future__ import annotations

from typing import Any

import discord

CONFIRM_TIMEOUT = 120.0


class _Confirm(discord.ui.View):
    def __init__(self, user_id: int) -> None:
        super().__init__(timeout=CONFIRM_TIMEOUT)
        self.user_id = user_id
        self.answer = False

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        return interaction.user.id == self.user_id

    @discord.ui.button(label="Yes, run them", style=discord.ButtonStyle.primary)
    async def yes(self, interaction: discord.Interaction[Any], _: discord.ui.Button[Any]) -> None:
        await self._close(interaction, True, "Starting…")

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def no(self, interaction: discord.Interaction[Any], _: discord.ui.Button[Any]) -> None:
        await self._close(interaction, False, "Cancelled; nothing was started.")

    async def _close(self, interaction: discord.Interaction[Any], answer: bool, text: str) -> None:
        self.answer = answer
        await interaction.response.edit_message(content=text, view=None)
        self.stop()


async def confirm(interaction: discord.Interaction[Any], question: str) -> bool:
    """Ask ``question`` ephemerally after a defer; True only if the user confirms in time."""
    view = _Confirm(interaction.user.id)
    await interaction.followup.send(question, view=view, ephemeral=True)
    if await view.wait():
        await interaction.followup.send("No answer in time; nothing was started.", ephemeral=True)
    return view.answer
