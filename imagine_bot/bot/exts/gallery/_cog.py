"""The /gallery command, and which channels a gallery link shows: those of the server its
member may read, checked when the link is made and again each time it opens."""

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
        elif await scope_of(self.bot)(interaction.channel_id or 0, interaction.user.id) is None:
            refusal = "The gallery needs a channel you can read the history of: try another."
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
    """The channels of a link's server that its member may read now (Discord's permissions,
    from the bot's cache), age-restricted ones only when the link was made in one."""

    async def scope(channel_id: int, member_id: int) -> GalleryScope | None:
        origin = bot.get_channel(channel_id)
        guild = getattr(origin, "guild", None)
        if not isinstance(guild, discord.Guild):
            return None
        member = guild.get_member(member_id)
        if member is None:
            try:
                member = await guild.fetch_member(member_id)
            except (discord.NotFound, discord.Forbidden):
                return None
        adult = _age_restricted(origin)
        places: list[discord.abc.GuildChannel | discord.Thread] = [*guild.channels]
        # A private thread's readers are its members, which permissions do not say.
        places += [thread for thread in guild.threads if not thread.is_private()]
        readable = frozenset(
            place.id
            for place in places
            if _may_read(place, member) and (adult or not _age_restricted(place))
        )
        if channel_id not in readable:
            return None
        return GalleryScope(guild.name, readable)

    return scope


def _may_read(place: discord.abc.GuildChannel | discord.Thread, member: discord.Member) -> bool:
    permissions = place.permissions_for(member)
    return permissions.view_channel and permissions.read_message_history


def _age_restricted(channel: object) -> bool:
    is_nsfw = getattr(channel, "is_nsfw", None)
    return bool(is_nsfw()) if callable(is_nsfw) else False
