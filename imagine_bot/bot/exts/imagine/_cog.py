"""/imagine and the commands about one's jobs: /show, /cancel, /queue, /info."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from imagine_bot.bot.access import role_ids
from imagine_bot.bot.errors import fit
from imagine_bot.bot.messages import describe_quota
from imagine_bot.engine.errors import UserError
from imagine_bot.engine.jobs.records import Requester

if TYPE_CHECKING:
    from imagine_bot.bot.client import ImagineBot


class Imagine(commands.Cog):
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot

    @app_commands.command(description="Create four images from a prompt")
    @app_commands.describe(
        prompt="What to imagine, with Midjourney flags such as --ar 16:9 --no text",
        image="An image prompt (same as putting an image URL first)",
        style="A style reference image (same as --sref URL)",
    )
    async def imagine(
        self,
        interaction: discord.Interaction[Any],
        prompt: app_commands.Range[str, 1, 4000],
        image: discord.Attachment | None = None,
        style: discord.Attachment | None = None,
    ) -> None:
        await self.bot.desk.imagine(interaction, prompt, image, style)

    @app_commands.command(description="Post one of your jobs again, with working buttons")
    @app_commands.describe(job_id="The job id (shown by /info and in the image file names)")
    async def show(self, interaction: discord.Interaction[Any], job_id: str) -> None:
        await self.bot.desk.show(interaction, job_id)

    @app_commands.command(description="Cancel a job of yours (the latest one if no id is given)")
    async def cancel(
        self, interaction: discord.Interaction[Any], job_id: str | None = None
    ) -> None:
        await interaction.response.defer(ephemeral=True)
        service = self.bot.app.service
        if job_id is None:
            waiting = await service.jobs_of(interaction.user.id, states=("queued", "running"))
            if not waiting:
                await interaction.followup.send(
                    "You have no queued or running jobs.", ephemeral=True
                )
                return
            job_id = waiting[-1].id
        try:
            job = await service.cancel(job_id.strip().lower(), interaction.user.id)
        except UserError as error:
            await interaction.followup.send(fit(str(error)), ephemeral=True)
            return
        await interaction.followup.send(f"Job `{job.id}` is {job.state}.", ephemeral=True)

    @app_commands.command(description="Your queued and running jobs")
    async def queue(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.defer(ephemeral=True)
        jobs = await self.bot.app.service.jobs_of(interaction.user.id, states=("queued", "running"))
        if not jobs:
            await interaction.followup.send("You have nothing queued.", ephemeral=True)
            return
        lines = [f"`{job.id}` {job.state} ({job.lane}): {job.spec.prompt[:80]}" for job in jobs]
        await interaction.followup.send(fit("\n".join(lines)), ephemeral=True)

    @app_commands.command(description="Your GPU-time quota, jobs and lane")
    async def info(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.defer(ephemeral=True)
        service = self.bot.app.service
        requester = Requester(interaction.user.id, role_ids(interaction.user))
        status = await service.quota_status(requester)
        jobs = await service.jobs_of(interaction.user.id, states=("queued", "running"))
        running = sum(job.state == "running" for job in jobs)
        counts = f"Running jobs: {running}\nQueued jobs: {len(jobs) - running}"
        await interaction.followup.send(f"{describe_quota(status)}\n{counts}", ephemeral=True)
