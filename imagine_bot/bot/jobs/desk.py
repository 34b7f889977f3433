"""Starting jobs for Discord users: /imagine, button presses and /show.

Every path answers the interaction within Discord's 3 seconds (a defer), never blocks the
event loop, and ends with something the user can read: a job message or an ephemeral note.
A refusal (``UserError``) is raised to the caller's one error handler (``bot/errors.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import discord

from imagine_bot.bot import messages
from imagine_bot.bot.access import may_press, role_ids
from imagine_bot.bot.jobs.announce import ECHO_MENTIONS, Announced, Announcer
from imagine_bot.bot.jobs.buttons import SELECT, single_view
from imagine_bot.bot.jobs.confirm import confirm
from imagine_bot.bot.jobs.content import channel_policy, content_note, spoilered
from imagine_bot.bot.jobs.delivery import stored_upload
from imagine_bot.bot.jobs.watcher import JobWatcher
from imagine_bot.bot.preferences import preference_flags
from imagine_bot.engine.jobs.profiles import STRONG_SIGNAL, WEAK_SIGNAL
from imagine_bot.engine.jobs.records import JobRecord, Parent, Requester
from imagine_bot.engine.spec import GenerationSpec, ImageRole, ReferenceImage, SourceImage

if TYPE_CHECKING:
    from imagine_bot.app import ImagineApp


PressHandler = Callable[[discord.Interaction[Any], JobRecord, int], Awaitable[None]]
"""Handles a let-through press of one action's button: (interaction, parent job, index)."""
FormOpener = Callable[[discord.Interaction[Any], str, str, int], Awaitable[bool]]
"""Answers a press (interaction, action, job id, index) with a form; False when it does not."""


class JobDesk:
    def __init__(self, app: ImagineApp, watcher: JobWatcher) -> None:
        self._app = app
        self._watcher = watcher
        self._announcer = Announcer(app, watcher)
        self._handlers: dict[str, PressHandler] = {}
        """Actions whose button does something else than derive a job at once (open a page)."""
        self._open_to_all: set[str] = set()
        """Actions anyone who sees the message may press (the star)."""
        self._form: FormOpener | None = None
        """Opens the prompt form a press may answer with (Remix, Custom Zoom)."""

    def on_press(self, action: str, handler: PressHandler, *, anyone: bool = False) -> None:
        """Let ``handler`` answer the presses of ``action``'s buttons instead of deriving a job
        (an extension's ``setup`` calls it); ``anyone``: not only whom ``may_press`` allows."""
        if action in self._handlers:
            raise ValueError(f"the presses of {action!r} already have a handler")
        self._handlers[action] = handler
        if anyone:
            self._open_to_all.add(action)

    def use_form(self, opener: FormOpener) -> None:
        """Let ``opener`` answer a press with a prompt form first (one extension may)."""
        if self._form is not None:
            raise ValueError("the desk already has a prompt form")
        self._form = opener

    async def imagine(
        self,
        interaction: discord.Interaction[Any],
        prompt: str,
        image: discord.Attachment | None = None,
        style: discord.Attachment | None = None,
        structure: discord.Attachment | None = None,
    ) -> None:
        await self._defer(interaction, ephemeral=True, thinking=True)
        given: tuple[tuple[ImageRole, discord.Attachment | None], ...] = (
            ("image", image),
            ("style", style),
            ("structure", structure),
        )
        attachments = [
            ReferenceImage(role=role, source=attachment.url)
            for role, attachment in given
            if attachment is not None
        ]
        await self.imagine_prompts(interaction, [prompt], attachments)

    async def imagine_prompts(
        self,
        interaction: discord.Interaction[Any],
        prompts: Sequence[str],
        attachments: Sequence[ReferenceImage] = (),
    ) -> None:
        """/imagine of each of ``prompts`` as one request, once the interaction is deferred
        (also the /describe buttons)."""
        specs = [
            spec for text in prompts for spec in await self.plan(interaction, text, attachments)
        ]
        limit = self._app.settings.discord.confirm_above
        if len(specs) > limit and not await confirm(
            interaction, f"This prompt makes {len(specs)} jobs (4 images each). Run them all?"
        ):
            return
        await self.start(interaction, specs, parent=None)

    async def let_through(
        self, interaction: discord.Interaction[Any], job_id: str, action: str
    ) -> JobRecord | None:
        """Acknowledge a press (Discord allows 3 s; every answer after it follows up) and load
        its job; None, with a private refusal sent, when the job is gone or the presser may not
        use its buttons."""
        await self._defer(interaction)
        job = await self._app.service.job(job_id)
        if job is None:
            refusal = "That job is no longer stored on this server."
        elif action not in self._open_to_all and not may_press(
            self._app.settings.discord, interaction.user, job.owner_id
        ):
            refusal = "Only the person who started this job can use its buttons."
        else:
            return job
        await self._tell(interaction, refusal)
        return None

    async def open_form(
        self, interaction: discord.Interaction[Any], action: str, job_id: str, index: int
    ) -> bool:
        """Answer a press with a form instead of a job (Remix), when an extension set one up
        and the press asks for it; True when the form was opened."""
        if self._form is None:
            return False
        return await self._form(interaction, action, job_id, index)

    async def press(
        self,
        interaction: discord.Interaction[Any],
        parent: JobRecord,
        action: str,
        index: int,
        prompt: str | None = None,
    ) -> None:
        """A press let through (deferred, by someone who may press it): U1-U4 show one image;
        the others derive a new job from ``parent``, with the member's edit of its ``prompt``
        when they sent one (Remix)."""
        if action == SELECT:
            await self._select(interaction, parent, index)
        elif action in self._handlers:
            await self._handlers[action](interaction, parent, index)
        elif action not in self._app.planner.actions:
            await self._tell(interaction, "That button is not available yet on this server.")
        else:
            await self._derive(interaction, parent, action, index, prompt)

    async def _derive(
        self,
        interaction: discord.Interaction[Any],
        parent: JobRecord,
        action: str,
        index: int,
        prompt: str | None,
    ) -> None:
        macros = None if prompt is None else await self._app.service.macros(interaction.user.id)
        specs = await self._app.planner.derive(
            parent.spec, action, index, source_image(parent, index), prompt=prompt, macros=macros
        )
        await self.start(interaction, specs, parent=Parent(parent.id, action, index))
        if index:  # an action on one image (not Reroll of the grid) is a mild preference
            await self.learn(interaction.user.id, parent, index, WEAK_SIGNAL)

    async def learn(self, user_id: int, job: JobRecord, index: int, weight: float) -> None:
        """The member chose image ``index`` of ``job`` (0: its whole grid): their default
        profile (``--p``) moves toward it."""
        shas = job.image_shas if index == 0 else job.image_shas[index - 1 : index]
        await self._app.service.profiles.learn(user_id, shas, weight / max(len(shas), 1))

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
        result = await self._watcher.result_message(job, interaction.filesize_limit)
        await channel.send(
            result.content,
            file=result.file(),
            view=result.view,
            allowed_mentions=ECHO_MENTIONS,
        )
        await self._app.service.mark_delivered(job.id)
        await self._tell(interaction, "Posted.")

    async def plan(
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
                profiles=await service.profiles.references(user_id),
            )
        )

    async def _select(
        self, interaction: discord.Interaction[Any], parent: JobRecord, index: int
    ) -> None:
        if not 1 <= index <= len(parent.image_paths):
            await self._tell(interaction, "That image does not exist.")
            return
        await self.learn(interaction.user.id, parent, index, STRONG_SIGNAL)
        stem = f"{parent.id}_{index}"
        limit = interaction.filesize_limit
        upload = await asyncio.to_thread(stored_upload, parent.image_paths[index - 1], stem, limit)
        planner = self._app.planner
        line = messages.single_line(
            parent.spec, planner.flags, planner.actions, parent.owner_id, index
        )
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
        await interaction.followup.send(messages.fit(text), ephemeral=True)

    async def start(
        self,
        interaction: discord.Interaction[Any],
        specs: Sequence[GenerationSpec],
        parent: Parent | None,
    ) -> None:
        service = self._app.service
        requester = Requester(interaction.user.id, role_ids(interaction.user))
        policy = channel_policy(self._app.settings.safety, interaction.channel)
        jobs = await service.submit(
            requester,
            [spec.model_copy(update={"content_policy": policy}) for spec in specs],
            interaction_id=interaction.id,
            channel_id=interaction.channel_id,
            parent=parent,
        )
        channel = interaction.channel
        assert isinstance(channel, discord.abc.Messageable)
        announced = await self.announce(channel, jobs)
        if not announced.positions:
            # a double click or a repeated interaction: the job is under way
            await self._tell(interaction, messages.already_started(announced.shown_at))
            return
        notes = list(
            dict.fromkeys(
                warning for job in jobs for warning in (*job.spec.warnings, *job.warnings)
            )
        )
        summary = messages.submitted(announced.positions, announced.hold)
        lines = [summary, *(f"⚠️ {note}" for note in notes)]
        reply = await interaction.followup.send(
            messages.fit("\n".join(lines)), ephemeral=True, wait=True
        )
        if announced.hold is None and all(place is None for place in announced.positions):
            return  # said "Started."
        current = [await service.job(job.id) or job for job in jobs]
        started = self._watcher.replies.watch(reply, current, lines[1:])
        if started is not None:
            await started

    async def announce(
        self, channel: discord.abc.Messageable, jobs: Sequence[JobRecord]
    ) -> Announced:
        """Post a waiting message for each of ``jobs`` not posted yet, once however often
        they are submitted, and follow it to its result."""
        return await self._announcer.announce(channel, jobs)


def source_image(job: JobRecord, index: int) -> SourceImage | None:
    """Image ``index`` (1-4) of a finished job, as an action's starting point."""
    if not 1 <= index <= len(job.image_shas):
        return None
    return SourceImage(sha256=job.image_shas[index - 1], job_id=job.id, index=index)
