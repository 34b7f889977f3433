"""Read-only views over many jobs: a member's jobs, the jobs in some states, a page of the
gallery and the counts for the metrics."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func
from sqlmodel import col, select

from imagine_bot.engine.images.store import ImageStore
from imagine_bot.engine.jobs.records import JobRecord
from imagine_bot.engine.jobs.rows import to_record
from imagine_bot.engine.jobs.storage.database import Database
from imagine_bot.engine.jobs.storage.tables import JobRow
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
    newest first: a page of the gallery (a /describe job's answer has no image)."""
    query = select(JobRow).where(
        col(JobRow.state) == JobState.DELIVERED,
        col(JobRow.channel_id).in_(list(channel_ids)),
        col(JobRow.action) != DESCRIBE,
    )
    if owner_id is not None:
        query = query.where(col(JobRow.owner_id) == owner_id)
    query = query.order_by(col(JobRow.seq).desc()).offset(offset).limit(limit)
    with db.read() as session:
        return [to_record(row, images) for row in session.exec(query).all()]


def counts(db: Database) -> dict[tuple[str, str], int]:
    """How many jobs are in each (state, lane)."""
    with db.read() as session:
        rows = session.exec(
            select(JobRow.state, JobRow.lane, func.count()).group_by(
                col(JobRow.state), col(JobRow.lane)
            )
        ).all()
    return {(state, lane): count for state, lane, count in rows}
