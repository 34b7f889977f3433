"""The private answer "Queued (#3)." becomes "Started." when the member's jobs start.

The watcher, which follows each job for its channel message, says when one starts. The
ephemeral answer to the command or press can only be edited through its interaction's token,
which Discord honours for 15 minutes. A reply whose jobs start after that stays as it is, and so
does one whose job ends without starting (cancelled): "Queued" was true when it was said."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import discord

from imagine_bot.bot import messages
from imagine_bot.engine.jobs.records import JobRecord
from imagine_bot.engine.spec import JobState

log = logging.getLogger(__name__)

INTERACTION_LIFE = timedelta(minutes=14)
"""How long after its answer a reply is still edited: Discord lets an interaction's token edit
for 15 minutes from the interaction's creation; the minute spare covers the time the command
took to answer (fetching images) without trusting this machine's clock against Discord's."""


@dataclass
class _Reply:
    message: discord.WebhookMessage
    expires: float
    """On ``time.monotonic``'s clock."""
    count: int
    """How many jobs the answer spoke of ("Started 2 jobs.")."""
    notes: list[str]
    """The answer's lines after the first (warnings), kept when it is edited."""
    waiting: set[str] = field(default_factory=set)


class QueuedReplies:
    """Private "Queued" answers, each edited to "Started." once all its jobs have started."""

    def __init__(self) -> None:
        self._replies: dict[str, _Reply] = {}
        """Job id -> the answer that said it was queued."""

    def watch(
        self,
        message: discord.WebhookMessage,
        jobs: Sequence[JobRecord],
        notes: Sequence[str] = (),
    ) -> Awaitable[None] | None:
        """Edit ``message``, the answer just sent to an interaction, when ``jobs`` have
        started. The jobs are the records as they are now: those no longer queued count
        as started (the event may have come before the answer existed; a cancelled one did
        not); the returned edit, if any, says so at once."""
        if any(job.state == JobState.CANCELLED for job in jobs):
            return None
        expires = time.monotonic() + INTERACTION_LIFE.total_seconds()
        reply = _Reply(message, expires, len(jobs), list(notes))
        reply.waiting = {job.id for job in jobs if job.state == JobState.QUEUED}
        if not reply.waiting:
            return self._say_started(reply)
        for job_id in reply.waiting:
            self._replies[job_id] = reply
        return None

    def started(self, job_id: str) -> Awaitable[None] | None:
        """The job started: the edit to make when that completes a reply's jobs, else None."""
        reply = self._replies.pop(job_id, None)
        if reply is None:
            return None
        reply.waiting.discard(job_id)
        return None if reply.waiting else self._say_started(reply)

    def ended(self, job_id: str) -> None:
        """The job ended; if it never started, its reply stays as it is."""
        reply = self._replies.pop(job_id, None)
        for other in reply.waiting if reply is not None else ():
            self._replies.pop(other, None)

    async def _say_started(self, reply: _Reply) -> None:
        if time.monotonic() >= reply.expires:
            return  # the interaction's token no longer edits it
        summary = messages.submitted([None] * reply.count, None)
        try:
            await reply.message.edit(content=messages.fit("\n".join([summary, *reply.notes])))
        except discord.HTTPException as error:
            log.info("could not mark a private answer as started: %s", error)
