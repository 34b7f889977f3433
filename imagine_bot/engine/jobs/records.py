"""What the job service hands out: job records, requesters, quota status, queue snapshots and
the events a running job sends. All immutable; the bot renders them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image

from imagine_bot.engine.spec import PENDING_STATES, SUCCESS_STATES, GenerationSpec, JobState, Lane


@dataclass(frozen=True, init=False)
class Requester:
    """Who asks: a Discord member's id and role ids (the role ids pick the quota tier)."""

    user_id: int
    role_ids: frozenset[int]

    def __init__(self, user_id: int, role_ids: Iterable[int] = ()) -> None:
        object.__setattr__(self, "user_id", int(user_id))
        object.__setattr__(self, "role_ids", frozenset(int(role) for role in role_ids))


@dataclass(frozen=True)
class Parent:
    """The button press a child job comes from."""

    job_id: str
    action: str
    index: int
    """The image the button is for, 1-4, or 0 for a whole-grid action such as reroll."""


@dataclass(frozen=True)
class JobRecord:
    """One job as stored. ``spec.lane`` is always equal to ``lane``."""

    id: str
    """uuid4 hex; what button custom ids carry."""
    owner_id: int
    state: JobState
    lane: Lane
    """Where the job actually runs (relax after a quota fallback)."""
    spec: GenerationSpec
    tier: str | None
    parent_id: str | None
    action: str
    index: int | None
    """The parent's image this action started from (1-4), 0 for grid actions, None for imagine."""
    interaction_id: int | None
    batch_index: int
    """Position of this job among the jobs of its interaction (permutations, --repeat)."""
    channel_id: int | None
    message_id: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int
    """How often the job was started (more than 1 after a crash)."""
    reserved_seconds: float
    """GPU-seconds held from the member's budget while the job is pending (lane price included)."""
    gpu_seconds: float | None
    """Measured on the worker; set once the job succeeded (or was cancelled after a preview:
    the time it had run)."""
    charged_seconds: float | None
    """What the member paid: ``gpu_seconds`` times the lane's price; None until it succeeded
    (or was cancelled after a preview)."""
    error: str | None
    """Why it failed, was cancelled or could not be delivered, in words for the member."""
    warnings: tuple[str, ...]
    """Notes for the member from the queue (e.g. moved to relax) and from the GPU worker (e.g.
    the upscaler's Lanczos fallback); planning warnings stay in ``spec.warnings``."""
    image_shas: tuple[str, ...]
    """The four images' sha256 in grid order (empty until it succeeded)."""
    grid_sha: str | None
    flagged: tuple[int, ...]
    """The images (1-based) the safety classifier flagged; posted per ``spec.content_policy``."""
    image_paths: tuple[Path, ...]
    grid_path: Path | None
    texts: tuple[str, ...] = ()
    """What a /describe job wrote (its four prompts); empty for image jobs."""

    @property
    def pending(self) -> bool:
        return self.state in PENDING_STATES

    @property
    def succeeded(self) -> bool:
        return self.state in SUCCESS_STATES


@dataclass(frozen=True)
class QuotaStatus:
    """A member's GPU time in the current period. Amounts in GPU-seconds."""

    user_id: int
    tier: str
    enabled: bool
    """False when quotas are switched off: every job runs in the lane it asks for."""
    period: str
    """daily, weekly or monthly."""
    period_start: datetime
    next_reset: datetime
    budget: float
    used: float
    """Charged for jobs that succeeded this period (less what an admin reset forgave)."""
    granted: float
    """Added by admins this period."""
    held: float
    """Reserved for the member's queued and running jobs."""
    left: float
    """budget + granted - used - held; may dip below 0 when a job costs more than expected."""
    relax_allowed: bool
    lane: Lane | None
    """Where a new fast job would go: "fast", "relax" (out of fast time) or None (refused)."""


@dataclass(frozen=True)
class QueueSnapshot:
    running: tuple[JobRecord, ...]
    waiting: tuple[JobRecord, ...]
    """In the order they will start if nothing else is queued meanwhile."""
    paused: bool


@dataclass(frozen=True)
class JobEvent:
    """Something happened to a job. Listeners get these on the event loop."""

    job: JobRecord


@dataclass(frozen=True)
class QueuedEvent(JobEvent):
    """The job was accepted (or re-queued after a restart); position 1 starts next."""

    position: int


@dataclass(frozen=True)
class StartedEvent(JobEvent):
    """The GPU worker took the job."""


@dataclass(frozen=True)
class ProgressEvent(JobEvent):
    """``done`` of ``total`` steps; ``preview`` is a small image when the pipeline made one.

    ``job`` is the record as it was when the job started.
    """

    done: int
    total: int
    preview: Image.Image | None = None


@dataclass(frozen=True)
class SucceededEvent(JobEvent):
    """Images are stored (``job.image_paths``, ``job.grid_path``) and GPU time is charged."""


RETRY_LIMIT = "RetryLimit"
"""The failure cause of a job given up after ``queue.retry_limit`` restarts."""


@dataclass(frozen=True)
class FailedEvent(JobEvent):
    """The job failed and its GPU time was refunded; ``job.error`` says why, in plain words."""

    cause: str = "Error"
    """What failed, for metrics: the exception's class name (``ContentBlocked``,
    ``OutOfMemoryError``...), or ``RetryLimit`` for a job given up after restarts."""

    @property
    def error(self) -> str:
        return self.job.error or "The job failed."


@dataclass(frozen=True)
class CancelledEvent(JobEvent):
    """The job was cancelled (queued: removed; running: stopped) and refunded."""
