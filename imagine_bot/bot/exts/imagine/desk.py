"""Starting jobs for Discord users: /imagine, button presses and /show.

Every path answers the interaction within Discord's 3 seconds (a defer), never blocks the
event loop, and ends with something the user can read: a job message or an ephemeral note.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import discord

from imagine_bot.bot import messages
from imagine_bot.bot.access import may_press, place_refusal, role_ids
from imagine_bot.bot.confirm import confirm
from imagine_bot.bot.delivery import stored_upload, with_retries
from imagine_bot.bot.exts.imagine.buttons import SELECT, single_view
from imagine_bot.bot.exts.imagine.progress import JobWatcher
from imagine_bot.bot.preferences import preference_flags
from imagine_bot.engine.errors import UserError
from imagine_bot.engine.jobs.records import JobRecord, Parent, Requester
from imagine_bot.engine.spec import GenerationSpec, ReferenceImage, SourceImage

if TYPE_CHECKING:
    from imagine_bot.app import ImagineApp

ECHO_MENTIONS = discord.AllowedMentions.none()
"""Prompt text is user input: an ``@everyone`` in it must ping nobody."""
ALREADY_STARTED = "That is already started."


PressHandler = Callable[[discord.Interaction[Any], JobRecord, int], Awaitable[None]]
"""Handles a let-through press of one action's button: (interaction, parent job, index)."""


class JobDesk:
    def __init__(self, app: ImagineApp, watcher: JobWatcher) -> None:
        self._app = app
        self._watcher = watcher
        self.handlers: dict[str, PressHandler] = {}
        """Actions whose button does something else than derive a job at once (open a page);
        extensions add theirs in ``setup``."""

    async def imagine(
        self,
        interaction: discord.Interaction[Any],
        prompt: str,
        image: discord.Attachment | None = None,
        style: discord.Attachment | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        refusal = place_refusal(self._app.settings.discord, interaction)
        if refusal:
            await interaction.followup.send(refusal, ephemeral=True)
            return
        attachments = [
            ReferenceImage(role=role, source=attachment.url)
            for role, attachment in (("image", image), ("style", style))
            if attachment is not None
        ]
        try:
            specs = await self._plan(interaction, prompt, attachments)
        except UserError as error:
            await interaction.followup.send(messages.user_error(error), ephemeral=True)
            return
        limit = self._app.settings.discord.confirm_above
        if len(specs) > limit and not await confirm(
            interaction, f"This prompt makes {len(specs)} jobs (4 images each). Run them all?"
        ):
            return
        await self._start(interaction, specs, parent=None)

    async def job(self, job_id: str) -> JobRecord | None:
        return await self._app.service.job(job_id)

    def may_press(self, user: discord.User | discord.Member, owner_id: int) -> bool:
        return may_press(self._app.settings.discord, user, owner_id)

    async def press(
        self, interaction: discord.Interaction[Any], parent: JobRecord, action: str, index: int
    ) -> None:
        """A press its button let through (already deferred, by someone who may press it):
        U1-U4 show one image; the others derive a new job from ``parent``."""
        if action == SELECT:
            await self._select(interaction, parent, index)
        elif action in self.handlers:
            await self.handlers[action](interaction, parent, index)
        elif action not in self._app.planner.actions:
            await self._tell(interaction, "That button is not available yet on this server.")
        else:
            try:
                specs = await self._app.planner.derive(
                    parent.spec, action, index, source_image(parent, index)
                )
            except UserError as error:
                await self._tell(interaction, messages.user_error(error))
                return
            await self._start(interaction, specs, parent=Parent(parent.id, action, index))

    async def show(self, interaction: discord.Interaction[Any], job_id: str) -> None:
        """Post a finished job again with live buttons (and deliver one that never arrived)."""
        await interaction.response.defer(thinking=True)
        job = await self._app.service.job(job_id.strip().lower())
        if job is None or job.owner_id != interaction.user.id:
            await interaction.followup.send("You have no job with that id.", ephemeral=True)
            return
        if not job.succeeded:
            await interaction.followup.send(f"That job is {job.state}, with nothing to show yet.")
            return
        result = await self._watcher.result_message(job, interaction.filesize_limit)
        await interaction.followup.send(
            result.content,
            file=result.upload.file(),
            view=result.view,
            allowed_mentions=ECHO_MENTIONS,
        )
        await self._app.service.mark_delivered(job.id)

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
        await interaction.followup.send(
            messages.single_line(
                parent.spec,
                self._app.planner.flags,
                self._app.planner.actions,
                parent.owner_id,
                index,
            ),
            file=upload.file(),
            view=single_view(parent.id, index, parent.spec, self._app.planner.actions),
            allowed_mentions=ECHO_MENTIONS,
        )

    async def _tell(self, interaction: discord.Interaction[Any], text: str) -> None:
        """A private answer to the person who pressed or typed."""
        await interaction.followup.send(text, ephemeral=True)

    async def _start(
        self,
        interaction: discord.Interaction[Any],
        specs: Sequence[GenerationSpec],
        parent: Parent | None,
    ) -> None:
        service = self._app.service
        requester = Requester(interaction.user.id, role_ids(interaction.user))
        try:
            jobs = await service.submit(
                requester,
                list(specs),
                interaction_id=interaction.id,
                channel_id=interaction.channel_id,
                parent=parent,
            )
        except UserError as error:
            await interaction.followup.send(messages.user_error(error), ephemeral=True)
            return
        channel = interaction.channel
        assert isinstance(channel, discord.abc.Messageable)
        if not await self.announce(channel, jobs):
            # a double click or a repeated interaction: the job is under way
            await interaction.followup.send(ALREADY_STARTED, ephemeral=True)
            return
        notes = list(
            dict.fromkeys(
                warning for job in jobs for warning in (*job.spec.warnings, *job.warnings)
            )
        )
        summary = "Started." if len(jobs) == 1 else f"Started {len(jobs)} jobs."
        await interaction.followup.send(
            "\n".join([summary, *(f"⚠️ {note}" for note in notes)]), ephemeral=True
        )

    async def announce(self, channel: discord.abc.Messageable, jobs: Sequence[JobRecord]) -> bool:
        """Post a waiting message for each of ``jobs`` not posted yet and follow it to its
        result; False when every one was posted before (a repeated submission)."""
        service = self._app.service
        new_jobs = [job for job in jobs if job.message_id is None]
        for job in new_jobs:
            position = await service.queue_position(job.id)
            planner = self._app.planner
            line = messages.job_line(
                job.spec, planner.flags, planner.actions, job.owner_id, messages.waiting(position)
            )
            send = functools.partial(channel.send, line, allowed_mentions=ECHO_MENTIONS)
            message = await with_retries(send, retries=self._app.settings.discord.delivery_retries)
            await service.set_message(job.id, message.channel.id, message.id)
            self._watcher.follow(job, message)
        return bool(new_jobs)


def source_image(job: JobRecord, index: int) -> SourceImage | None:
    """Image ``index`` (1-4) of a finished job, as an action's starting point."""
    if not 1 <= index <= len(job.image_shas):
        return None
    return SourceImage(sha256=job.image_shas[index - 1], job_id=job.id, index=index)
