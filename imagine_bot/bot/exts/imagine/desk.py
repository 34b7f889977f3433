"""Starting jobs for Discord users: /imagine, button presses and /show.

Every path answers the interaction within Discord's 3 seconds (a defer), never blocks the
event loop, and ends with something the user can read: a job message or an ephemeral note.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord

from imagine_bot.bot import messages
from imagine_bot.bot.access import may_press, role_ids
from imagine_bot.bot.confirm import confirm
from imagine_bot.bot.content import channel_policy, content_note, spoilered
from imagine_bot.bot.delivery import stored_upload, with_retries
from imagine_bot.bot.errors import fit
from imagine_bot.bot.exts.imagine.buttons import SELECT, single_view
from imagine_bot.bot.preferences import preference_flags
from imagine_bot.engine.errors import UserError
from imagine_bot.engine.jobs.records import JobRecord, Parent, Requester
from imagine_bot.engine.spec import GenerationSpec, ReferenceImage, SourceImage
from imagine_bot.plugins.flags import FlagRegistry

if TYPE_CHECKING:
    from imagine_bot.app import ImagineApp
    from imagine_bot.bot.client import ImagineBot

ECHO_MENTIONS = discord.AllowedMentions.none()
"""Prompt text is user input: an ``@everyone`` in it must ping nobody."""


class JobDesk:
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot

    @property
    def _app(self) -> ImagineApp:
        return self.bot.app

    @property
    def _flags(self) -> FlagRegistry:
        return self.bot.app.planner.flags

    async def imagine(
        self,
        interaction: discord.Interaction[Any],
        prompt: str,
        image: discord.Attachment | None = None,
        style: discord.Attachment | None = None,
    ) -> None:
        await self._defer(interaction, ephemeral=True, thinking=True)
        attachments = [
            ReferenceImage(role=role, source=attachment.url)
            for role, attachment in (("image", image), ("style", style))
            if attachment is not None
        ]
        try:
            specs = await self._plan(interaction, prompt, attachments)
        except UserError as error:
            await self._tell(interaction, messages.user_error(error))
            return
        limit = self._app.settings.discord.confirm_above
        if len(specs) > limit and not await confirm(
            interaction, f"This prompt makes {len(specs)} jobs (4 images each). Run them all?"
        ):
            return
        await self._start(interaction, specs, parent=None)

    async def press(
        self, interaction: discord.Interaction[Any], action: str, job_id: str, index: int
    ) -> None:
        """A job button: U1-U4 show one image; the others derive a new job from this one."""
        # A silent acknowledgement first (Discord allows 3 s), then the answers as follow-ups.
        await self._defer(interaction)
        parent = await self._app.service.job(job_id)
        if parent is None:
            await self._tell(interaction, "That job is no longer stored on this server.")
        elif not may_press(self._app.settings.discord, interaction.user, parent.owner_id):
            await self._tell(
                interaction, "Only the person who started this job can use its buttons."
            )
        elif action == SELECT:
            await self._select(interaction, parent, index)
        elif action not in self._app.planner.actions:
            await self._tell(interaction, "That button is not available yet on this server.")
        else:
            try:
                specs = await self._app.planner.derive(
                    parent.spec, action, index, _source(parent, index)
                )
            except UserError as error:
                await self._tell(interaction, messages.user_error(error))
                return
            await self._start(interaction, specs, parent=Parent(parent.id, action, index))

    async def show(self, interaction: discord.Interaction[Any], job_id: str) -> None:
        """Post a finished job again with live buttons (and deliver one that never arrived)."""
        # Private until there is something to show: a mistyped id is nobody else's business.
        await self._defer(interaction, ephemeral=True, thinking=True)
        job = await self._app.service.job(job_id.strip().lower())
        if job is None or job.owner_id != interaction.user.id:
            await self._tell(interaction, "You have no job with that id.")
            return
        if not job.succeeded:
            await self._tell(interaction, f"That job is {job.state}, with nothing to show yet.")
            return
        channel = interaction.channel
        assert isinstance(channel, discord.abc.Messageable)
        result = await self.bot.watcher.result_message(job, interaction.filesize_limit)
        await channel.send(
            result.content,
            file=result.file(),
            view=result.view,
            allowed_mentions=ECHO_MENTIONS,
        )
        await self._app.service.mark_delivered(job.id)
        await self._tell(interaction, "Posted.")

    async def _plan(
        self,
        interaction: discord.Interaction[Any],
        text: str,
        attachments: Sequence[ReferenceImage],
    ) -> list[GenerationSpec]:
        service = self._app.service
        user_id = interaction.user.id
        preferences = await service.preferences(user_id)
        channel_default = self._app.settings.discord.channel_defaults.get(
            str(interaction.channel_id), ""
        )
        return list(
            await self._app.planner.plan(
                text,
                preferences=[channel_default, *preference_flags(preferences, self._app.settings)],
                macros=await service.macros(user_id),
                images=attachments,
            )
        )

    async def _select(
        self, interaction: discord.Interaction[Any], parent: JobRecord, index: int
    ) -> None:
        if not 1 <= index <= len(parent.image_paths):
            await self._tell(interaction, "That image does not exist.")
            return
        stem = f"{parent.id}_{index}"
        limit = interaction.filesize_limit
        upload = await asyncio.to_thread(stored_upload, parent.image_paths[index - 1], stem, limit)
        line = messages.single_line(parent.spec, self._flags, parent.owner_id, index)
        note = content_note(parent, index)
        await interaction.followup.send(
            f"{line}\n-# {note}" if note else line,
            file=upload.file(spoiler=spoilered(parent, index)),
            view=single_view(parent.id, index, parent.spec, self._app.planner.actions),
            allowed_mentions=ECHO_MENTIONS,
        )

    async def _defer(self, interaction: discord.Interaction[Any], **options: bool) -> None:
        """Acknowledge at once (Discord allows 3 s), and measure how long that took."""
        await interaction.response.defer(**options)
        self._app.metrics.deferred(interaction.created_at, discord.utils.utcnow())

    async def _tell(self, interaction: discord.Interaction[Any], text: str) -> None:
        """A private answer to the person who pressed or typed."""
        await interaction.followup.send(fit(text), ephemeral=True)

    async def _start(
        self,
        interaction: discord.Interaction[Any],
        specs: Sequence[GenerationSpec],
        parent: Parent | None,
    ) -> None:
        service = self._app.service
        requester = Requester(interaction.user.id, role_ids(interaction.user))
        policy = channel_policy(self._app.settings.safety, interaction.channel)
        try:
            jobs = await service.submit(
                requester,
                [spec.model_copy(update={"content_policy": policy}) for spec in specs],
                interaction_id=interaction.id,
                channel_id=interaction.channel_id,
                parent=parent,
            )
        except UserError as error:
            await self._tell(interaction, messages.user_error(error))
            return
        channel = interaction.channel
        assert isinstance(channel, discord.abc.Messageable)
        new_jobs = [job for job in jobs if job.message_id is None]
        if not new_jobs:  # a double click or a repeated interaction: the job is under way
            await interaction.followup.send("That is already started.", ephemeral=True)
            return
        for job in new_jobs:
            position = await service.queue_position(job.id)
            line = messages.job_line(
                job.spec, self._flags, job.owner_id, messages.waiting(position)
            )
            send = functools.partial(channel.send, line, allowed_mentions=ECHO_MENTIONS)
            message = await with_retries(send, retries=self._app.settings.discord.delivery_retries)
            await service.set_message(job.id, message.channel.id, message.id)
            self.bot.watcher.follow(job, message)
        notes = list(
            dict.fromkeys(
                warning for job in jobs for warning in (*job.spec.warnings, *job.warnings)
            )
        )
        summary = "Started." if len(jobs) == 1 else f"Started {len(jobs)} jobs."
        await self._tell(interaction, "\n".join([summary, *(f"⚠️ {note}" for note in notes)]))


def _source(job: JobRecord, index: int) -> SourceImage | None:
    """Image ``index`` (1-4) of a finished job, as an action's starting point."""
    if not 1 <= index <= len(job.image_shas):
        return None
    return SourceImage(sha256=job.image_shas[index - 1], job_id=job.id, index=index)
