"""Read-only views over many jobs: a member's jobs, the jobs in some states, a page of the
gallery (all jobs, or the starred ones, and each job's children) and the counts for the
metrics."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func
from sqlmodel import col, select

from imagine_bot.engine.images.store import ImageStore
from imagine_bot.engine.jobs.records import JobRecord
from imagine_bot.engine.jobs.rows import to_record
from imagine_bot.engine.jobs.storage.database import Database
from imagine_bot.engine.jobs.storage.tables import FavouriteRow, JobRow
from imagine_bot.engine.spec import DESCRIBE, JobState


def jobs_of(
    db: Database,
    images: ImageStore,
    user_id: int,
    states: Iterable[str] | None = None,
    limit: int = 100,
) -> list[JobRecord]:
    """The member's most recent ``limit`` jobs (in ``states``), oldest first."""
    query = select(JobRow).where(col(JobRow.owner_id) == user_id)
    if states is not None:
        query = query.where(col(JobRow.state).in_([str(state) for state in states]))
    with db.read() as session:
        rows = session.exec(query.order_by(col(JobRow.seq).desc()).limit(limit)).all()
        return [to_record(row, images) for row in reversed(rows)]


def jobs_in(db: Database, images: ImageStore, states: Iterable[str]) -> list[JobRecord]:
    """Every job in ``states``, oldest first."""
    query = select(JobRow).where(col(JobRow.state).in_([str(state) for state in states]))
    with db.read() as session:
        rows = session.exec(query.order_by(col(JobRow.seq))).all()
        return [to_record(row, images) for row in rows]


def of_interaction(db: Database, images: ImageStore, interaction_id: int) -> list[JobRecord]:
    """The jobs one interaction (or one Vary (Region) link, by its nonce) submitted."""
    query = select(JobRow).where(col(JobRow.interaction_id) == interaction_id)
    with db.read() as session:
        return [to_record(row, images) for row in session.exec(query.order_by(col(JobRow.seq)))]


def delivered_in(
    db: Database,
    images: ImageStore,
    channel_ids: Iterable[int],
    owner_id: int | None,
    offset: int,
    limit: int,
) -> list[JobRecord]:
    """Delivered image jobs posted in ``channel_ids`` (only ``owner_id``'s, when given),
    newest first: a page of the gallery."""
    query = select(JobRow).where(*_shown_in(channel_ids))
    if owner_id is not None:
        query = query.where(col(JobRow.owner_id) == owner_id)
    query = query.order_by(col(JobRow.seq).desc()).offset(offset).limit(limit)
    with db.read() as session:
        return [to_record(row, images) for row in session.exec(query).all()]


def _shown_in(channel_ids: Iterable[int]) -> tuple[ColumnElement[bool], ...]:
    """What the gallery shows: delivered image jobs posted in ``channel_ids``, not deleted (a
    /describe job's answer has no image)."""
    return (
        col(JobRow.state) == JobState.DELIVERED,
        col(JobRow.channel_id).in_(list(channel_ids)),
        col(JobRow.deleted_at).is_(None),
        col(JobRow.action) != DESCRIBE,
    )


def starred_in(
    db: Database,
    images: ImageStore,
    channel_ids: Iterable[int],
    starred_by: int | None,
    offset: int,
    limit: int,
) -> list[tuple[JobRecord, int]]:
    """The starred grids and images (job, image index; 0 for the grid) the gallery shows in
    ``channel_ids`` (starred by ``starred_by``, or by anyone), most recently starred first."""
    latest = func.max(FavouriteRow.created_at)
    query = (
        select(JobRow, FavouriteRow.image_index)
        .join(FavouriteRow, col(FavouriteRow.job_id) == col(JobRow.id))
        .where(*_shown_in(channel_ids))
    )
    if starred_by is not None:
        query = query.where(col(FavouriteRow.user_id) == starred_by)
    query = (
        query.group_by(col(JobRow.seq), col(FavouriteRow.image_index))
        .order_by(latest.desc(), col(JobRow.seq).desc(), col(FavouriteRow.image_index))
        .offset(offset)
        .limit(limit)
    )
    with db.read() as session:
        return [(to_record(row, images), index) for row, index in session.exec(query).all()]


@dataclass(frozen=True)
class Lineage:
    """Where a job the gallery shows comes from and what was made from it, as far as the
    gallery shows them (a hidden or foreign parent or child is left out)."""

    parent: str | None
    children: tuple[tuple[str, str], ...]
    """(job id, action) of each child, oldest first."""


def lineage_in(
    db: Database, channel_ids: Iterable[int], parents: Mapping[str, str | None]
) -> dict[str, Lineage]:
    """The lineage of each job id of ``parents`` (job id -> its parent's id)."""
    shown = _shown_in(channel_ids)
    asked = [parent for parent in parents.values() if parent is not None]
    children: dict[str, list[tuple[str, str]]] = {}
    with db.read() as session:
        found = session.exec(
            select(JobRow.parent_id, JobRow.id, JobRow.action)
            .where(*shown, col(JobRow.parent_id).in_(list(parents)))
            .order_by(col(JobRow.seq))
        ).all()
        for parent_id, job_id, action in found:
            children.setdefault(str(parent_id), []).append((job_id, action))
        visible = set(session.exec(select(JobRow.id).where(*shown, col(JobRow.id).in_(asked))))
    return {
        job_id: Lineage(parent if parent in visible else None, tuple(children.get(job_id, ())))
        for job_id, parent in parents.items()
    }


def counts(db: Database) -> dict[tuple[str, str], int]:
    """How many jobs are in each (state, lane)."""
    with db.read() as session:
        rows = session.exec(
            select(JobRow.state, JobRow.lane, func.count()).group_by(
                col(JobRow.state), col(JobRow.lane)
            )
        ).all()
    return {(state, lane): count for state, lane, count in rows}
