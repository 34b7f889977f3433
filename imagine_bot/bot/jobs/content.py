"""The content policy on Discord's side: which policy a channel gets, and spoilered results."""

from __future__ import annotations

from typing import Any

from imagine_bot.config.safety import ContentPolicy, SafetySettings
from imagine_bot.engine.jobs.records import JobRecord

SPOILER_NOTE = "This server's content filter flagged this result, so it is behind a spoiler."
ALLOWED_NOTE = "This server's content filter flagged this result; this channel allows it."


def channel_policy(settings: SafetySettings, channel: Any) -> ContentPolicy:
    """The policy for results posted in ``channel``; threads follow their parent's age
    restriction, as Discord does, and direct messages count as not age-restricted."""
    is_nsfw = getattr(channel, "is_nsfw", None)
    age_restricted = bool(is_nsfw()) if callable(is_nsfw) else False
    return settings.channel_policy(getattr(channel, "id", None), age_restricted)


def spoilered(job: JobRecord, index: int | None = None) -> bool:
    """Whether image ``index`` (1-based; None: the grid, or the result of a one-image job)
    goes behind a spoiler."""
    return _flagged(job, index) and job.spec.content_policy == "spoiler"


def content_note(job: JobRecord, index: int | None = None) -> str | None:
    """What the member reads under a flagged result."""
    if not _flagged(job, index):
        return None
    return SPOILER_NOTE if spoilered(job, index) else ALLOWED_NOTE


def _flagged(job: JobRecord, index: int | None) -> bool:
    return bool(job.flagged) if index is None else index in job.flagged
