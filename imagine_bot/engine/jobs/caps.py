"""The queue's caps, checked inside the transaction that queues a member's jobs: the member's
own (running + waiting), the whole queue's, and the member's /describe requests."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import Session, col, select

from imagine_bot.config import Settings
from imagine_bot.engine.errors import DescribeBusy, QueueFull
from imagine_bot.engine.jobs.storage.tables import JobRow
from imagine_bot.engine.spec import DESCRIBE, PENDING_STATES, GenerationSpec, JobState

_PENDING = [str(state) for state in PENDING_STATES]


def check_caps(
    session: Session, settings: Settings, user_id: int, specs: Sequence[GenerationSpec]
) -> None:
    """Raise ``QueueFull`` or ``DescribeBusy`` when queueing ``specs`` would pass a cap."""
    queue = settings.queue
    count = len(specs)
    running, waiting = queue.max_running_per_user, queue.max_waiting_per_user
    limit = running + waiting
    mine = col(JobRow.owner_id) == user_id
    pending, total = session.exec(
        select(
            func.count().filter(mine, col(JobRow.state).in_(_PENDING)),
            func.count().filter(col(JobRow.state) == JobState.QUEUED),
        ).where(col(JobRow.state).in_(_PENDING))
    ).one()
    if pending + count > limit:
        raise QueueFull(asked=count, pending=pending, limit=limit, running=running)
    if total + count > queue.max_waiting_total:
        raise QueueFull(asked=count, pending=total, limit=queue.max_waiting_total, whole_queue=True)
    _check_describe_cap(session, settings.describe.max_per_member, user_id, specs)


def _check_describe_cap(
    session: Session, cap: int, user_id: int, specs: Sequence[GenerationSpec]
) -> None:
    asked = sum(spec.action == DESCRIBE for spec in specs)
    if not asked:
        return
    pending = session.exec(
        select(func.count()).where(
            col(JobRow.owner_id) == user_id,
            col(JobRow.action) == DESCRIBE,
            col(JobRow.state).in_(_PENDING),
        )
    ).one()
    if pending + asked > cap:
        raise DescribeBusy(pending=pending, limit=cap)
