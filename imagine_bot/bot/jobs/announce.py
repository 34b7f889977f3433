"""Posting a job's message in its channel, once, however many times the job is submitted.

A double click submits the same job twice (the service finds the existing one, as it does for
a repeated interaction), and both presses get here before either message exists. The first
claims the job and posts; the second waits for that message and gets its link, so that the
member is told where their job is instead of getting a second message that never moves.
"""

from __future__ import annotations

import asyncio
import functools
from collections import OrderedDict
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord

from imagine_bot.bot import messages
from imagine_bot.bot.jobs.delivery import with_retries
from imagine_bot.bot.jobs.watcher import JobWatcher, queue_hold
from imagine_bot.engine.jobs.records import JobRecord

if TYPE_CHECKING:
    from imagine_bot.app import ImagineApp

ECHO_MENTIONS = discord.AllowedMentions.none()
"""Prompt text is user input: an ``@everyone`` in it must ping nobody."""
RECENT_POSTS = 256
"""Jobs whose posting is remembered: a second press may read the job from the database
before the first press has stored its message."""


@dataclass(frozen=True)
class Announced:
    positions: tuple[int | None, ...]
    """The queue place of each job posted now (None: started already); empty when every job
    was posted before (a repeated submission)."""
    hold: str | None = None
    """Why nothing starts for now (the queue paused, no GPU worker), or None."""
    shown_at: str | None = None
    """For a repeated submission, the link to the message already showing the job."""


class Announcer:
    def __init__(self, app: ImagineApp, watcher: JobWatcher) -> None:
        self._app = app
        self._watcher = watcher
        self._posts: OrderedDict[str, asyncio.Task[tuple[int | None, str]]] = OrderedDict()
        """Job id -> the task posting its message (its queue place and the message's link)."""

    async def announce(
        self, channel: discord.abc.Messageable, jobs: Sequence[JobRecord]
    ) -> Announced:
        """Post a waiting message for each of ``jobs`` not posted yet and follow it to its
        result."""
        positions: list[int | None] = []
        shown_at: str | None = None
        hold = queue_hold(self._app)
        for job in jobs:
            current = await self._app.service.job(job.id) or job
            # From here to the claim nothing awaits: one press at a time gets past.
            post = self._posts.get(job.id)
            if post is None and current.message_id is not None and current.channel_id is not None:
                shown_at = shown_at or link(channel, current.channel_id, current.message_id)
            elif post is not None:
                # Shielded: a press that goes away must not stop the other press's post.
                shown_at = shown_at or (await asyncio.shield(post))[1]
            else:
                post = self._claim(job.id, self._post(channel, current, hold))
                positions.append((await asyncio.shield(post))[0])
        return Announced(tuple(positions), hold, None if positions else shown_at)

    def _claim(
        self, job_id: str, posting: Coroutine[Any, Any, tuple[int | None, str]]
    ) -> asyncio.Task[tuple[int | None, str]]:
        post = self._posts[job_id] = asyncio.create_task(posting, name=f"post job {job_id}")

        def forget_unposted(done: asyncio.Task[tuple[int | None, str]]) -> None:
            if done.cancelled() or done.exception() is not None:
                self._posts.pop(job_id, None)  # a press after this one may try again

        post.add_done_callback(forget_unposted)
        while len(self._posts) > RECENT_POSTS:
            self._posts.popitem(last=False)
        return post

    async def _post(
        self, channel: discord.abc.Messageable, job: JobRecord, hold: str | None
    ) -> tuple[int | None, str]:
        service = self._app.service
        position = await service.queue_position(job.id)
        planner = self._app.planner
        status = messages.waiting(position, hold)
        line = messages.job_line(job.spec, planner.flags, planner.actions, job.owner_id, status)
        send = functools.partial(channel.send, line, allowed_mentions=ECHO_MENTIONS)
        message = await with_retries(send, retries=self._app.settings.discord.delivery_retries)
        await service.set_message(job.id, message.channel.id, message.id)
        self._watcher.follow(job, message)
        return position, message.jump_url


def link(channel: discord.abc.Messageable, channel_id: int, message_id: int) -> str:
    """The jump link of a message in ``channel`` (or a thread or direct message like it)."""
    guild = getattr(channel, "guild", None)
    place = guild.id if guild is not None else "@me"
    return f"https://discord.com/channels/{place}/{channel_id}/{message_id}"
