"""Keeps each job's channel message in step with the job, from "Waiting to start" to the grid.

The job service reports events on the event loop; each followed job gets one task that turns
them into message edits, at most one progress edit per ``discord.progress_interval`` (Discord
rate-limits edits), and delivers the result when the job ends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord
from PIL import Image

from imagine_bot.bot import messages
from imagine_bot.bot.jobs.buttons import grid_view, single_view
from imagine_bot.bot.jobs.content import content_note, spoilered
from imagine_bot.bot.jobs.delivery import (
    DEFAULT_UPLOAD_LIMIT,
    Upload,
    encode_for_upload,
    stored_upload,
    with_retries,
)
from imagine_bot.bot.jobs.replies import QueuedReplies
from imagine_bot.engine.jobs.records import (
    JobEvent,
    JobRecord,
    ProgressEvent,
    QueuedEvent,
    StartedEvent,
)
from imagine_bot.engine.spec import JobState

if TYPE_CHECKING:
    from imagine_bot.app import ImagineApp

log = logging.getLogger(__name__)

UNCLAIMED_JOBS = 64
PREVIEW_SIDE = 384
"""Previews are small: one is uploaded with every progress edit."""
JobMessage = discord.Message | discord.PartialMessage
Resumer = Callable[[JobRecord, discord.PartialMessageable], Awaitable[None]]
"""Takes up after a restart a job whose answer is no job message (a /describe job): waits for
it to end and posts what it has, in the job's channel."""


@dataclass(frozen=True)
class ResultMessage:
    content: str
    upload: Upload
    view: discord.ui.View
    spoiler: bool = False

    def file(self) -> discord.File:
        return self.upload.file(spoiler=self.spoiler)

    def edit_arguments(self) -> dict[str, Any]:
        return {"content": self.content, "attachments": [self.file()], "view": self.view}


class JobWatcher:
    def __init__(self, app: ImagineApp, client: discord.Client) -> None:
        """``client`` reaches the messages of jobs followed again after a restart."""
        self._app = app
        self._client = client
        self._queues: dict[str, asyncio.Queue[JobEvent]] = {}
        self._unclaimed: OrderedDict[str, list[JobEvent]] = OrderedDict()
        """Events of jobs nobody follows yet: a job can start (and end) between its
        submission and the moment its message exists."""
        self._tasks: set[asyncio.Task[None]] = set()
        self.replies = QueuedReplies()
        """The private "Queued" answers to edit when their jobs start."""
        self._resumers: dict[str, Resumer] = {}

    def resume_with(self, action: str, resumer: Resumer) -> None:
        """Let ``resumer`` take up the jobs of ``action`` after a restart instead of following
        a job message (an extension's ``setup`` calls it)."""
        if action in self._resumers:
            raise ValueError(f"the jobs of {action!r} already have a resumer")
        self._resumers[action] = resumer

    def on_event(self, event: JobEvent) -> None:
        """The service's listener: hands the event to the task following its job."""
        queue = self._queues.get(event.job.id)
        if queue is not None:
            queue.put_nowait(event)
            return
        self._unclaimed.setdefault(event.job.id, []).append(event)
        self._unclaimed.move_to_end(event.job.id)
        while len(self._unclaimed) > UNCLAIMED_JOBS:
            self._unclaimed.popitem(last=False)

    async def resume(self) -> None:
        """After a restart: follow again every job whose message does not show its end yet,
        and post one for a job accepted just before the process died, before its message."""
        snapshot = await self._app.service.queue_snapshot()
        pending = [*snapshot.running, *snapshot.waiting]
        for job in [*pending, *await self._app.service.pending_deliveries()]:
            if job.channel_id is None:
                continue
            channel = self._client.get_partial_messageable(job.channel_id)
            resumer = self._resumers.get(job.spec.action)
            if resumer is not None:
                self._spawn(resumer(job, channel), job)
                continue
            if job.message_id is not None:
                self.follow(job, channel.get_partial_message(job.message_id))
                continue
            try:
                message = await self._post_late(job, channel)
            except discord.HTTPException:
                log.exception("could not post job %s to channel %s", job.id, job.channel_id)
                continue
            self.follow(job, message)

    async def _post_late(self, job: JobRecord, channel: discord.PartialMessageable) -> JobMessage:
        """A new message for ``job``, mentioning its owner: they never saw it start."""
        planner = self._app.planner
        line = messages.job_line(
            job.spec,
            planner.flags,
            planner.actions,
            job.owner_id,
            messages.waiting(None, queue_hold(self._app)),
        )
        owner = discord.AllowedMentions(users=[discord.Object(job.owner_id)])
        message = await with_retries(
            lambda: channel.send(line, allowed_mentions=owner),
            retries=self._app.settings.discord.delivery_retries,
        )
        await self._app.service.set_message(job.id, message.channel.id, message.id)
        return message

    def follow(self, job: JobRecord, message: JobMessage) -> None:
        """Keep ``message`` showing ``job`` until the job's result is posted."""
        if job.id in self._queues:
            return
        self._queues[job.id] = queue = asyncio.Queue[JobEvent]()
        for event in self._unclaimed.pop(job.id, []):
            queue.put_nowait(event)
        self._spawn(self._follow(job, message), job)

    def _spawn(self, following: Awaitable[None], job: JobRecord) -> None:
        async def logged() -> None:
            try:
                await following
            except Exception:
                log.exception("could not show job %s in Discord", job.id)

        task = asyncio.create_task(logged(), name=f"follow job {job.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _follow(self, job: JobRecord, message: JobMessage) -> None:
        queue = self._queues[job.id]
        try:
            # Its events may have been dropped before it was followed: go by the stored state.
            job = await self._app.service.job(job.id) or job
            last_progress = 0.0
            while job.pending:
                event = await self._next_event(queue)
                if isinstance(event, ProgressEvent):
                    now = time.monotonic()
                    if now - last_progress >= self._app.settings.discord.progress_interval:
                        last_progress = now
                        await _best_effort(self._show_progress(message, job, event))
                    continue
                job = event.job
                if isinstance(event, QueuedEvent | StartedEvent):
                    status = (
                        messages.waiting(event.position, queue_hold(self._app))
                        if isinstance(event, QueuedEvent)
                        else "0%"
                    )
                    line = self._job_line(job, status)
                    await _best_effort(message.edit(content=line))
                if isinstance(event, StartedEvent) and (edit := self.replies.started(job.id)):
                    await edit
            self.replies.ended(job.id)
            await self.deliver(job, message)
        finally:
            self._queues.pop(job.id, None)

    async def _next_event(self, queue: asyncio.Queue[JobEvent]) -> JobEvent:
        """Wait for the job service: the one input from outside the bot."""
        return await queue.get()

    async def _show_progress(
        self, message: JobMessage, job: JobRecord, event: ProgressEvent
    ) -> None:
        progress = messages.percent(event.done, event.total)
        content = self._job_line(job, progress, job.lane)
        if event.preview is None:
            await message.edit(content=content)
            return
        upload = await asyncio.to_thread(_preview_upload, event.preview, job.id)
        await message.edit(content=content, attachments=[upload.file()])

    async def deliver(self, job: JobRecord, message: JobMessage) -> None:
        """Turn ``message`` into the job's result (or its failure), and record the outcome."""
        if not job.succeeded:
            reason = job.error or job.state.value
            line = self._job_line(job, reason)
            await _best_effort(message.edit(content=line, attachments=[], view=None))
            return
        result = await self.result_message(job)
        try:
            await with_retries(
                lambda: message.edit(**result.edit_arguments()),
                retries=self._app.settings.discord.delivery_retries,
            )
        except discord.HTTPException as error:
            await self._app.service.mark_undelivered(
                job.id, f"Discord refused the result: {error.text or error}. Use /show to post it."
            )
            raise
        if job.state != JobState.DELIVERED:
            await self._app.service.mark_delivered(job.id)

    async def result_message(
        self, job: JobRecord, limit: int = DEFAULT_UPLOAD_LIMIT
    ) -> ResultMessage:
        """The grid (or, for one-image jobs, the image) with its buttons, fitted to ``limit``."""
        path = job.grid_path if job.grid_path is not None else job.image_paths[0]
        # Encoding a large grid takes seconds: never on the event loop.
        upload = await asyncio.to_thread(stored_upload, path, job.id, limit)
        planner = self._app.planner
        if job.grid_path is not None:
            content = self._job_line(job, job.lane)
            view = grid_view(job.id, job.spec, planner.actions)
        else:
            content = messages.single_line(
                job.spec, planner.flags, planner.actions, job.owner_id, 1
            )
            view = single_view(job.id, 1, job.spec, planner.actions)
        notes = [*(f"⚠️ {warning}" for warning in job.warnings), upload.note, content_note(job)]
        content += "".join(f"\n-# {note}" for note in notes if note)
        return ResultMessage(messages.fit(content), upload, view, spoilered(job))

    def _job_line(self, job: JobRecord, *status: str) -> str:
        planner = self._app.planner
        return messages.job_line(job.spec, planner.flags, planner.actions, job.owner_id, *status)


def queue_hold(app: ImagineApp) -> str | None:
    """Why no queued job starts for now, in the member's words; None when they do start."""
    if app.service.paused:
        return messages.PAUSED
    if app.service.workers.capacity == 0:
        return messages.NO_WORKER
    return None


def _preview_upload(preview: Image.Image, job_id: str) -> Upload:
    small = preview.copy()
    small.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    return encode_for_upload(small, f"{job_id}_preview", DEFAULT_UPLOAD_LIMIT)


async def _best_effort(edit: Awaitable[Any]) -> None:
    """A progress edit that fails is skipped: the next one, or the result, replaces it."""
    try:
        await edit
    except discord.HTTPException as error:
        log.info("progress edit skipped: %s", error)
