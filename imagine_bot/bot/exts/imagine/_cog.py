"""/imagine and the commands about one's jobs: /show, /cancel, /queue, /info."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from imagine_bot.bot.access import role_ids
from imagine_bot.bot.messages import describe_quota, fit, listed
from imagine_bot.engine.jobs.records import Requester

if TYPE_CHECKING:
    from imagine_bot.app import ImagineApp
    from imagine_bot.bot.jobs.desk import JobDesk


MAX_CHOICES = 25
"""Discord shows at most this many autocomplete choices."""


def matching(names: Iterable[str], current: str) -> list[app_commands.Choice[str]]:
    """The names that contain what was typed so far, as autocomplete choices."""
    typed = current.lower()
    found = [name for name in names if typed in name.lower()]
    return [app_commands.Choice(name=name, value=name) for name in found[:MAX_CHOICES]]


class Imagine(commands.Cog):
    def __init__(self, app: ImagineApp, desk: JobDesk) -> None:
        self.app = app
        self.desk = desk

    @app_commands.command(description="Create four images from a prompt")
    @app_commands.describe(
        prompt="What to imagine, with Midjourney flags such as --ar 16:9 --no text",
        image="An image prompt (same as putting an image URL first)",
        style="A style reference image (same as --sref URL)",
        structure="Keep this image's edges or depth, change its look (same as --structure URL)",
        model="A model preset (same as --model NAME)",
        lora="A LoRA to apply (same as --lora NAME; add more with --lora in the prompt)",
    )
    async def imagine(
        self,
        interaction: discord.Interaction[Any],
        prompt: app_commands.Range[str, 1, 4000],
        image: discord.Attachment | None = None,
        style: discord.Attachment | None = None,
        model: str | None = None,
        lora: str | None = None,
        structure: discord.Attachment | None = None,
    ) -> None:
        options = [f"--model {model}" if model else "", f"--lora {lora}" if lora else ""]
        text = " ".join(part for part in (prompt, *options) if part)
        await self.desk.imagine(interaction, text, image, style, structure)

    @imagine.autocomplete("model")
    async def _model_names(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return matching(self.app.settings.models, current)

    @imagine.autocomplete("lora")
    async def _lora_names(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        """The LoRAs that fit the model chosen in the same command (else the default one)."""
        settings = self.app.settings
        model = settings.models.get(str(interaction.namespace.model or settings.default_model))
        fitting = {
            name: lora
            for name, lora in settings.loras.items()
            if model is None or lora.family == model.family
        }
        return matching(fitting, current)

    @app_commands.command(description="Post one of your jobs again, with working buttons")
    @app_commands.describe(job_id="The job id (shown by /info and in the image file names)")
    async def show(self, interaction: discord.Interaction[Any], job_id: str) -> None:
        await self.desk.show(interaction, job_id)

    @app_commands.command(description="Cancel a job of yours (the latest one if no id is given)")
    async def cancel(
        self, interaction: discord.Interaction[Any], job_id: str | None = None
    ) -> None:
        await interaction.response.defer(ephemeral=True)
        service = self.app.service
        if job_id is None:
            waiting = await service.jobs_of(interaction.user.id, states=("queued", "running"))
            if not waiting:
                await interaction.followup.send(
                    "You have no queued or running jobs.", ephemeral=True
                )
                return
            job_id = waiting[-1].id
        job = await service.cancel(job_id.strip().lower(), interaction.user.id)
        await interaction.followup.send(f"Job `{job.id}` is {job.state}.", ephemeral=True)

    @app_commands.command(description="Your queued and running jobs")
    async def queue(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.defer(ephemeral=True)
        jobs = await self.app.service.jobs_of(interaction.user.id, states=("queued", "running"))
        if not jobs:
            await interaction.followup.send("You have nothing queued.", ephemeral=True)
            return
        flags = self.app.planner.flags
        lines = [f"`{job.id}` {job.state} ({job.lane}): {listed(job.spec, flags)}" for job in jobs]
        await interaction.followup.send(fit("\n".join(lines)), ephemeral=True)

    @app_commands.command(description="Your GPU-time quota, jobs and lane")
    async def info(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.defer(ephemeral=True)
        service = self.app.service
        requester = Requester(interaction.user.id, role_ids(interaction.user))
        status = await service.quota_status(requester)
        jobs = await service.jobs_of(interaction.user.id, states=("queued", "running"))
        running = sum(job.state == "running" for job in jobs)
        counts = f"Running jobs: {running}\nQueued jobs: {len(jobs) - running}"
        await interaction.followup.send(f"{describe_quota(status)}\n{counts}", ephemeral=True)
