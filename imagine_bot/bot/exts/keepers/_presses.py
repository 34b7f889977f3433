"""Star: a member's private mark on a grid or an image (the gallery's favourites). Delete: the
owner removes the bot's message; the job stays stored for the ledger and lineage, hidden."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import discord

from imagine_bot.bot.jobs.desk import JobDesk
from imagine_bot.engine.jobs.profiles import STRONG_SIGNAL
from imagine_bot.engine.jobs.records import JobRecord

if TYPE_CHECKING:
    from imagine_bot.app import ImagineApp


class Keepers:
    def __init__(self, app: ImagineApp, desk: JobDesk) -> None:
        self._app = app
        self._desk = desk

    async def star(self, interaction: discord.Interaction[Any], job: JobRecord, index: int) -> None:
        starred = await self._app.service.toggle_star(interaction.user.id, job.id, index)
        if starred:
            await self._desk.learn(interaction.user.id, job, index, STRONG_SIGNAL)
        what = f"Image #{index}" if index else "This grid"
        answer = (
            f"⭐ {what} is in your favourites (/gallery, My favourites)."
            if starred
            else f"{what} is no longer in your favourites."
        )
        await interaction.followup.send(answer, ephemeral=True)

    async def delete(
        self, interaction: discord.Interaction[Any], job: JobRecord, index: int
    ) -> None:
        # Stricter than the other buttons (which settings may open to roles): only the owner.
        if interaction.user.id != job.owner_id:
            await interaction.followup.send(
                "Only the person who started this job can delete its message.", ephemeral=True
            )
            return
        message = interaction.message
        if message is not None:
            with contextlib.suppress(discord.NotFound):  # deleted already: the same outcome
                await message.delete()
        if message is None or message.id == job.message_id:
            # The job's own message (not a U post of one of its images): hide the job too.
            await self._app.service.mark_deleted(job.id)
        await interaction.followup.send("Deleted.", ephemeral=True)
