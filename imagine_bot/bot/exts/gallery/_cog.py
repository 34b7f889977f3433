"""The /gallery command, and which channels make up the server a gallery link shows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from imagine_bot.bot.web.gallery import PAGE, GalleryScope, ScopeOf

if TYPE_CHECKING:
    from imagine_bot.bot.client import ImagineBot


class Gallery(commands.Cog):
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot

    @app_commands.command(description="A private link to this server's gallery of images")
    async def gallery(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.defer(ephemeral=True)
        # The command tree has already refused places the bot does not serve.
        settings = self.bot.app.settings
        refusal = None
        if interaction.guild_id is None:
            refusal = "The gallery shows a server's images: use /gallery in a server."
        elif not settings.web.enabled:
            refusal = "This bot's web server is switched off (web.enabled), so it has no gallery."
        if refusal is not None:
            await interaction.followup.send(refusal, ephemeral=True)
            return
        token = self.bot.web.links.sign(
            PAGE, interaction.user.id, "", channel_id=interaction.channel_id or 0
        )
        minutes = round(settings.web.link_minutes)
        view = discord.ui.View()
        view.add_item(
            discord.ui.Button(label="Open the gallery", url=self.bot.web.url(PAGE, token))
        )
        await interaction.followup.send(
            f"This server's images, newest first. The link is yours alone and works for "
            f"{minutes} minutes.",
            view=view,
            ephemeral=True,
        )


def scope_of(bot: ImagineBot) -> ScopeOf:
    """The server of a channel, from the bot's cache: its text channels and active threads."""

    def scope(channel_id: int) -> GalleryScope | None:
        guild = getattr(bot.get_channel(channel_id), "guild", None)
        if not isinstance(guild, discord.Guild):
            return None
        ids = {channel.id for channel in guild.channels} | {thread.id for thread in guild.threads}
        return GalleryScope(guild.name, frozenset(ids))

    return scope
