"""Between the job table's rows and the records the service hands out."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, col, select

from imagine_bot.engine.images.store import ImageStore, StoredImage
from imagine_bot.engine.jobs.records import JobRecord
from imagine_bot.engine.jobs.storage.tables import ImageRow, JobRow
from imagine_bot.engine.spec import GenerationSpec, JobState, Lane
from imagine_bot.engine.times import to_seconds


def find_job(session: Session, job_id: str) -> JobRow | None:
    return session.exec(select(JobRow).where(col(JobRow.id) == job_id)).first()


def job_or_fail(session: Session, job_id: str) -> JobRow:
    row = find_job(session, job_id)
    if row is None:
        raise KeyError(f"no job {job_id}")
    return row


def add_images(session: Session, images: Iterable[StoredImage], now: datetime) -> None:
    """Rows for the stored images the database does not know yet."""
    fresh = {stored.sha256: stored for stored in images}
    known = session.exec(select(ImageRow.sha256).where(col(ImageRow.sha256).in_(list(fresh))))
    for sha in known.all():
        del fresh[sha]
    for stored in fresh.values():
        session.add(
            ImageRow(
                sha256=stored.sha256,
                path=str(stored.path),
                size_bytes=stored.size_bytes,
                width=stored.width,
                height=stored.height,
                created_at=now,
            )
        )


def to_record(row: JobRow, images: ImageStore) -> JobRecord:
    shas = tuple(json.loads(row.images))
    return JobRecord(
        id=row.id,
        owner_id=row.owner_id,
        state=JobState(row.state),
        lane=Lane(row.lane),
        spec=GenerationSpec.model_validate_json(row.spec),
        tier=row.tier,
        parent_id=row.parent_id,
        action=row.action,
        index=row.parent_index,
        interaction_id=row.interaction_id,
        batch_index=row.batch_index,
        channel_id=row.channel_id,
        message_id=row.message_id,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        attempts=row.attempts,
        reserved_seconds=to_seconds(row.reserved_ms),
        gpu_seconds=row.gpu_seconds,
        charged_seconds=None if row.charged_ms is None else to_seconds(row.charged_ms),
        error=row.error,
        warnings=tuple(json.loads(row.warnings)),
        image_shas=shas,
        grid_sha=row.grid_sha,
        flagged=tuple(json.loads(row.flagged)),
        texts=tuple(json.loads(row.texts)),
        deleted=row.deleted_at is not None,
        image_paths=tuple(images.path(sha) for sha in shas),
        grid_path=images.path(row.grid_sha) if row.grid_sha else None,
    )
