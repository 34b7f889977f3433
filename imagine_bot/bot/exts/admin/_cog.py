"""/admin: pause and resume the queue, and manage quotas. Server managers and admin roles only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from imagine_bot.bot.access import is_admin, role_ids
from imagine_bot.bot.messages import describe_quota
from imagine_bot.engine.jobs.records import Requester

if TYPE_CHECKING:
    from imagine_bot.app import ImagineApp


class Admin(commands.GroupCog, group_name="admin", group_description="Run the image queue"):
    def __init__(self, app: ImagineApp) -> None:
        self.app = app
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        if is_admin(self.app.settings.discord, interaction.user):
            return True
        await interaction.response.send_message(
            "Only server managers and admin roles can do that.", ephemeral=True
        )
        return False

    @app_commands.command(description="Stop starting new jobs (running ones finish)")
    async def pause(self, interaction: discord.Interaction[Any]) -> None:
        await self.app.service.pause()
        await interaction.response.send_message("The queue is paused.", ephemeral=True)

    @app_commands.command(description="Start jobs again")
    async def resume(self, interaction: discord.Interaction[Any]) -> None:
        await self.app.service.resume()
        await interaction.response.send_message("The queue is running.", ephemeral=True)

    quota = app_commands.Group(name="quota", description="GPU-time quotas")

    @quota.command(name="show", description="A member's quota")
    async def quota_show(
        self, interaction: discord.Interaction[Any], member: discord.Member
    ) -> None:
        await interaction.response.defer(ephemeral=True)
        service = self.app.service
        status = await service.quota_status(Requester(member.id, role_ids(member)))
        await interaction.followup.send(
            f"{member.mention}: {describe_quota(status)}", ephemeral=True
        )

    @quota.command(name="grant", description="Give a member extra GPU seconds this period")
    async def quota_grant(
        self,
        interaction: discord.Interaction[Any],
        member: discord.Member,
        seconds: app_commands.Range[float, 1],
    ) -> None:
        await interaction.response.defer(ephemeral=True)
        await self.app.service.grant(member.id, seconds)
        await interaction.followup.send(
            f"Granted {seconds:g} GPU seconds to {member.mention}.", ephemeral=True
        )

    @quota.command(name="reset", description="Clear a member's usage for this period")
    async def quota_reset(
        self, interaction: discord.Interaction[Any], member: discord.Member
    ) -> None:
        await interaction.response.defer(ephemeral=True)
        await self.app.service.reset(member.id)
        await interaction.followup.send(f"Reset the quota of {member.mention}.", ephemeral=True)
