"""Who may use the bot where, and who may press a job's buttons."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from imagine_bot.config.settings import DiscordSettings


def place_refusal(settings: DiscordSettings, interaction: discord.Interaction) -> str | None:
    """Why the bot does not work where ``interaction`` came from, or None if it does."""
    return refusal_at(settings, interaction.guild_id, interaction.channel_id)


def refusal_at(
    settings: DiscordSettings, guild_id: int | None, channel_id: int | None
) -> str | None:
    """Why the bot does not work in that channel of that server (None: a direct message),
    or None if it does; checked again when a link made there is used."""
    if guild_id is None:
        if not settings.direct_messages:
            return "This bot works in servers only, not in direct messages."
        return None
    if settings.allowed_guilds and guild_id not in settings.allowed_guilds:
        return "This bot is not enabled in this server."
    if settings.allowed_channels and channel_id not in settings.allowed_channels:
        return "This bot is not enabled in this channel; ask an admin where to use it."
    return None


class PlaceCheckedTree(app_commands.CommandTree[Any]):
    """Every slash command obeys the allowed servers, channels and direct-message policy."""

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        return await answer_if_refused(interaction)


async def answer_if_refused(interaction: discord.Interaction[Any]) -> bool:
    """Whether the bot may act where ``interaction`` came from; if not, it says so privately."""
    client: Any = interaction.client  # the ImagineBot, which the bot layer cannot import here
    refusal = place_refusal(client.app.settings.discord, interaction)
    if refusal is None:
        return True
    await interaction.response.send_message(refusal, ephemeral=True)
    return False


def role_ids(user: discord.User | discord.Member) -> tuple[int, ...]:
    return tuple(role.id for role in getattr(user, "roles", ()))


def is_admin(settings: DiscordSettings, user: discord.User | discord.Member) -> bool:
    permissions = getattr(user, "guild_permissions", None)
    if permissions is not None and permissions.manage_guild:
        return True
    return any(role in settings.admin_roles for role in role_ids(user))


def may_press(
    settings: DiscordSettings, user: discord.User | discord.Member, owner_id: int
) -> bool:
    """Whether ``user`` may press the buttons of a job that ``owner_id`` started."""
    if user.id == owner_id or not settings.owner_only_buttons:
        return True
    return is_admin(settings, user) or any(role in settings.button_roles for role in role_ids(user))
