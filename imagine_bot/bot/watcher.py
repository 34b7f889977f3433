"""Keeps each job's channel message in step with the job, from "Waiting to start" to the grid.

The job service reports events on the event loop; each followed job gets one task that turns
them into message edits, at most one progress edit per ``progress_interval`` (Discord
rate-limits edits), and delivers the result when the job ends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import discord

from imagine_bot.bot import messages
from imagine_bot.bot.buttons import grid_view, single_view
from imagine_bot.bot.delivery import DEFAULT_UPLOAD_LIMIT, encode_for_upload, with_retries
from imagine_bot.plugins.flags import FlagRegistry

if TYPE_CHECKING:
    from imagine_bot.bot.client import ImagineBot
    from imagine_bot.engine.service import JobEvent, JobRecord

log = logging.getLogger(__name__)
PREVIEW_SIDE = 384
"""Previews are small: they are re-uploaded with every progress edit."""


class JobWatcher:
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot
        self._queues: dict[str, asyncio.Queue[JobEvent]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def _flags(self) -> FlagRegistry:
        return self.bot.app.planner.flags

    def on_event(self, event: JobEvent) -> None:
        """The service's listener: hands the event to the task following its job, if any."""
        queue = self._queues.get(event.job_id)
        if queue is not None:
            queue.put_nowait(event)

    async def resume(self) -> None:
        """After a restart: follow again every job whose message is not final yet."""
        for job in await self.bot.app.service.awaiting_delivery():
            if job.channel_id is not None and job.message_id is not None:
                channel = self.bot.get_partial_messageable(job.channel_id)
                self.follow(job, channel.get_partial_message(job.message_id))

    def follow(self, job: JobRecord, message: discord.Message | discord.PartialMessage) -> None:
        """Keep ``message`` showing ``job`` until the job is delivered."""
        if job.id in self._queues:
            return
        self._queues[job.id] = asyncio.Queue()
        task = asyncio.create_task(self._follow(job, message), name=f"follow {job.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _follow(
        self, job: JobRecord, message: discord.Message | discord.PartialMessage
    ) -> None:
        service = self.bot.app.service
        queue = self._queues[job.id]
        try:
            # Events may have fired before this task existed: start from the stored state.
            job = await service.job(job.id) or job
            last_edit = 0.0
            while not job.finished:
                event = await queue.get()
                job = event.record or job
                if event.kind == "progress":
                    if (
                        time.monotonic() - last_edit
                        < self.bot.app.settings.discord.progress_interval
                    ):
                        continue
                    await _best_effort(self._show_progress(message, job, event))
                    last_edit = time.monotonic()
                elif event.kind in ("queued", "started"):
                    status = messages.waiting(event.position) if event.kind == "queued" else "0%"
                    line = messages.job_line(job.spec, self._flags, job.owner_id, status)
                    await _best_effort(message.edit(content=line))
            await self.deliver(job, message)
        except Exception:
            log.exception("following job %s failed", job.id)
        finally:
            self._queues.pop(job.id, None)

    async def _show_progress(
        self, message: discord.Message | discord.PartialMessage, job: JobRecord, event: JobEvent
    ) -> None:
        progress = messages.percent(event.done, event.total)
        content = messages.job_line(job.spec, self._flags, job.owner_id, progress, job.lane)
        preview = getattr(event, "preview", None)
        if preview is None:
            await message.edit(content=content)
            return
        preview.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
        upload = encode_for_upload(preview, f"{job.id}_preview", DEFAULT_UPLOAD_LIMIT)
        await message.edit(content=content, attachments=[upload.file()])

    async def deliver(
        self, job: JobRecord, message: discord.Message | discord.PartialMessage
    ) -> None:
        """Turn ``message`` into the job's result (or its failure), and record the outcome."""
        service = self.bot.app.service
        if job.state != "succeeded":
            reason = job.error or job.state
            await message.edit(
                content=messages.job_line(job.spec, self._flags, job.owner_id, reason),
                attachments=[],
                view=None,
            )
            return
        edit = self.result_message(job)
        try:
            await with_retries(
                lambda: message.edit(**edit.kwargs()),
                retries=self.bot.app.settings.discord.delivery_retries,
            )
        except discord.HTTPException as error:
            await service.mark_undelivered(
                job.id, f"Discord refused the upload: {error.text or error}"
            )
            raise
        await service.mark_delivered(job.id)

    def result_message(self, job: JobRecord, limit: int = DEFAULT_UPLOAD_LIMIT) -> ResultMessage:
        """The grid (or the single image) with its buttons, encoded to fit ``limit``."""
        images = self.bot.app.images
        if job.grid_sha256 is not None:
            upload = encode_for_upload(images.open(job.grid_sha256), job.id, limit)
            content = messages.job_line(job.spec, self._flags, job.owner_id, job.lane)
            view = grid_view(job.id)
        else:
            upload = encode_for_upload(images.open(job.image_sha256s[0]), job.id, limit)
            content = messages.single_line(job.spec, self._flags, job.owner_id, 1)
            view = single_view(job.id, 1, job.spec)
        if upload.note:
            content += f"\n-# {upload.note}"
        return ResultMessage(content, upload, view)


async def _best_effort(edit: Awaitable[Any]) -> None:
    """A progress edit that fails is skipped: the next one, or the result, replaces it."""
    try:
        await edit
    except discord.HTTPException as error:
        log.info("progress edit skipped: %s", error)


class ResultMessage:
    def __init__(self, content: str, upload: Any, view: discord.ui.View) -> None:
        self.content = content
        self.upload = upload
        self.view = view

    def kwargs(self) -> dict[str, Any]:
        return {"content": self.content, "attachments": [self.upload.file()], "view": self.view}
