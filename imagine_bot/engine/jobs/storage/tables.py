"""The tables. Amounts of GPU time are integer milliseconds, so sums are exact.

Times are timezone-aware UTC. JSON columns hold text written by ``json.dumps`` (or pydantic).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel, UTCDateTime

from imagine_bot.engine.spec import PENDING_STATES

_PENDING_SQL = text(f"state IN ({', '.join(repr(str(s)) for s in sorted(PENDING_STATES))})")


class UserRow(SQLModel, table=True):
    __tablename__ = "users"

    user_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    preferences: str = Field(default="{}", sa_type=Text)
    tier: str | None = None
    """The quota tier seen at the member's last request (admin commands have no roles)."""
    created_at: datetime = Field(sa_type=UTCDateTime)


class MacroRow(SQLModel, table=True):
    __tablename__ = "macros"

    user_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("users.user_id"), primary_key=True)
    )
    name: str = Field(primary_key=True, max_length=100)
    flags: str = Field(sa_type=Text)


class JobRow(SQLModel, table=True):
    __tablename__ = "jobs"
    __table_args__ = (
        # One job per (Discord interaction, position in that prompt's expansion).
        UniqueConstraint("interaction_id", "batch_index", name="one_job_per_interaction"),
        # One pending child per (parent, action, index): a double-clicked button makes one job.
        Index(
            "one_pending_child",
            "parent_id",
            "action",
            "parent_index",
            unique=True,
            sqlite_where=_PENDING_SQL,
        ),
        Index("jobs_by_state", "state", "lane", "seq"),
        Index("jobs_by_owner", "owner_id", "state"),
        Index("jobs_similar", "model", "width", "height", "steps", "state", "seq"),
    )

    seq: int | None = Field(default=None, primary_key=True)
    """Submission order."""
    id: str = Field(unique=True, max_length=32)
    owner_id: int = Field(sa_type=BigInteger)
    state: str = Field(max_length=16)
    lane: str = Field(max_length=16)
    tier: str | None = None
    spec: str = Field(sa_type=Text)
    model: str
    width: int
    height: int
    steps: int
    seeds: str = Field(sa_type=Text)
    parent_id: str | None = Field(default=None, foreign_key="jobs.id", max_length=32)
    action: str = Field(default="imagine", max_length=64)
    parent_index: int | None = None
    interaction_id: int | None = Field(default=None, sa_type=BigInteger)
    batch_index: int = 0
    channel_id: int | None = Field(default=None, sa_type=BigInteger)
    message_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = 0
    reserved_ms: int = Field(default=0, sa_type=BigInteger)
    reserve_period: datetime | None = Field(default=None, sa_type=UTCDateTime)
    gpu_seconds: float | None = None
    charged_ms: int | None = Field(default=None, sa_type=BigInteger)
    error: str | None = Field(default=None, sa_type=Text)
    warnings: str = Field(default="[]", sa_type=Text)
    images: str = Field(default="[]", sa_type=Text)
    flagged: str = Field(default="[]", sa_type=Text)
    texts: str = Field(default="[]", sa_type=Text)
    """A /describe job's prompts (JSON list)."""
    """JSON list of the images (1-based) the safety classifier flagged."""
    grid_sha: str | None = Field(default=None, max_length=64)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    """When the owner deleted the job's message: kept for the ledger, hidden from the gallery."""


class ImageRow(SQLModel, table=True):
    __tablename__ = "images"

    sha256: str = Field(primary_key=True, max_length=64)
    path: str = Field(sa_type=Text)
    size_bytes: int = Field(sa_type=BigInteger)
    width: int
    height: int
    created_at: datetime = Field(sa_type=UTCDateTime)


class LedgerRow(SQLModel, table=True):
    """One movement of GPU time. Positive amounts use budget, negative ones give it back.

    ``reserve`` holds a queued job's expected cost and ``release`` gives that hold back when
    the job ends; ``charge`` is the measured cost of a job that succeeded; ``grant`` (negative)
    adds time; ``reset`` cancels the period's charges and grants. A member's balance is their
    tier's budget minus the sum of the rows of the current period.
    """

    __tablename__ = "quota_ledger"
    __table_args__ = (
        # A job is reserved, released and charged at most once, whatever happens to the process.
        UniqueConstraint("job_id", "kind", name="one_entry_per_job_and_kind"),
        Index("ledger_by_period", "user_id", "period_start"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_type=BigInteger)
    job_id: str | None = Field(default=None, foreign_key="jobs.id", max_length=32)
    kind: str = Field(max_length=16)
    amount_ms: int = Field(sa_type=BigInteger)
    period_start: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    note: str = Field(default="", sa_type=Text)


class QueueStateRow(SQLModel, table=True):
    """What an admin set for the whole queue, kept across restarts: one row, or none yet."""

    __tablename__ = "queue_state"

    id: int = Field(default=1, primary_key=True)
    paused: bool = False


class FavouriteRow(SQLModel, table=True):
    """A member's star on a job's grid (``image_index`` 0) or on one of its images (1-4)."""

    __tablename__ = "favourites"
    __table_args__ = (Index("favourites_by_job", "job_id"),)

    user_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    job_id: str = Field(foreign_key="jobs.id", primary_key=True, max_length=32)
    image_index: int = Field(primary_key=True)
    created_at: datetime = Field(sa_type=UTCDateTime)


class ProfileRow(SQLModel, table=True):
    """A style made of images (``--p``): a member's (``owner_id``), or the server's shared one
    (``owner_id`` 0, made by an admin). The name "" is a member's default, learned from what
    they select."""

    __tablename__ = "profiles"

    owner_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    name: str = Field(primary_key=True, max_length=32)
    images: str = Field(default="[]", sa_type=Text)
    """JSON list of [sha256, weight]: the images in the image store and their weights."""
    updated_at: datetime = Field(sa_type=UTCDateTime)


TABLES = [
    SQLModel.metadata.tables[str(model.__tablename__)]
    for model in (
        UserRow,
        MacroRow,
        JobRow,
        ImageRow,
        LedgerRow,
        QueueStateRow,
        FavouriteRow,
        ProfileRow,
    )
]
