"""Every change to jobs, quotas and preferences, each as one short write transaction.

Synchronous on purpose: ``JobService`` calls it from its database threads, and scripts,
tests and the benchmark call it directly, from as many threads or processes as they like.
Checks and the writes they guard share a transaction that holds the write lock from its
first statement (see ``storage.database``), so two racing submits can never both spend the
last of a budget or both take the last place in a queue.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from imagine_bot.config import Settings
from imagine_bot.config.settings import QuotaSettings, QuotaTier
from imagine_bot.engine.errors import QueueFull, QuotaExceeded, UserError
from imagine_bot.engine.images.store import ImageStore, StoredImage
from imagine_bot.engine.jobs.ledger import (
    LANES,
    Period,
    balance,
    estimate_seconds,
    known_tier,
    lane_multiplier,
    period_at,
    tier_of,
    tier_settings,
    to_ms,
    to_seconds,
)
from imagine_bot.engine.jobs.records import (
    PENDING_STATES,
    SUCCESS_STATES,
    JobRecord,
    JobState,
    Parent,
    QuotaStatus,
    Requester,
)
from imagine_bot.engine.jobs.scheduler import FairScheduler, QueueEntry
from imagine_bot.engine.jobs.storage.database import Database
from imagine_bot.engine.jobs.storage.tables import ImageRow, JobRow, LedgerRow, MacroRow, UserRow
from imagine_bot.engine.spec import GenerationSpec

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware."""

_PENDING = tuple(str(state) for state in PENDING_STATES)
_SUCCEEDED = tuple(str(state) for state in SUCCESS_STATES)


def utc_now() -> datetime:
    return datetime.now(UTC)


class JobStore:
    """Jobs, the quota ledger, images and member preferences in one database."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        images: ImageStore,
        clock: Clock = utc_now,
    ) -> None:
        self.queue = settings.queue
        self.quota = settings.quota
        self.db = database
        self.images = images
        self.clock = clock

    # --- submitting --------------------------------------------------------------------------

    def submit(
        self,
        requester: Requester,
        specs: Sequence[GenerationSpec],
        *,
        interaction_id: int | None = None,
        channel_id: int | None = None,
        parent: Parent | None = None,
    ) -> tuple[list[JobRecord], bool]:
        """Queue one job per spec, all or none; returns the jobs and whether they are new.

        A repeated ``interaction_id``, or a ``parent`` (job, action, index) that already has a
        pending child, returns the existing jobs instead of queueing again.
        """
        if not specs:
            raise ValueError("submit needs at least one spec")
        for attempt in range(2):
            try:
                with self.db.write() as session:
                    existing = self._existing(session, interaction_id, parent)
                    if existing:
                        return [self._record(row) for row in existing], False
                    rows = self._insert_jobs(
                        session, requester, specs, interaction_id, channel_id, parent
                    )
                    return [self._record(row) for row in rows], True
            except IntegrityError:
                # The unique constraints caught a concurrent duplicate (on backends without
                # BEGIN IMMEDIATE, two transactions can both pass the check above).
                with self.db.read() as session:
                    existing = self._existing(session, interaction_id, parent)
                if existing:
                    return [self._record(row) for row in existing], False
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _existing(
        self, session: Session, interaction_id: int | None, parent: Parent | None
    ) -> list[JobRow]:
        if interaction_id is not None:
            rows = session.exec(
                select(JobRow)
                .where(col(JobRow.interaction_id) == interaction_id)
                .order_by(col(JobRow.batch_index))
            ).all()
            if rows:
                return list(rows)
        if parent is not None:
            parent_id, action, index = parent
            return list(
                session.exec(
                    select(JobRow).where(
                        col(JobRow.parent_id) == parent_id,
                        col(JobRow.action) == action,
                        col(JobRow.parent_index) == index,
                        col(JobRow.state).in_(_PENDING),
                    )
                ).all()
            )
        return []

    def _insert_jobs(
        self,
        session: Session,
        requester: Requester,
        specs: Sequence[GenerationSpec],
        interaction_id: int | None,
        channel_id: int | None,
        parent: Parent | None,
    ) -> list[JobRow]:
        user = self._lock_user(session, requester.user_id)
        tier = tier_of(self.quota, requester.role_ids)
        user.tier = tier
        session.add(user)
        if parent is not None and self._row(session, parent[0]) is None:
            raise UserError("That job no longer exists, so its buttons do nothing.")
        self._check_caps(session, requester.user_id, len(specs))
        now = self.clock()
        period = period_at(self.quota, tier_settings(self.quota, tier), now)
        priced = self._price(session, requester.user_id, tier, period, specs)
        rows = []
        for batch_index, (spec, reserve_ms, warnings) in enumerate(priced):
            row = JobRow(
                id=uuid.uuid4().hex,
                owner_id=requester.user_id,
                state=JobState.QUEUED,
                lane=spec.lane,
                tier=tier,
                spec=spec.model_dump_json(),
                model=spec.model,
                width=spec.width,
                height=spec.height,
                steps=spec.steps,
                seeds=json.dumps(list(spec.seeds)),
                parent_id=parent[0] if parent else None,
                action=parent[1] if parent else spec.action,
                parent_index=parent[2] if parent else None,
                interaction_id=interaction_id,
                batch_index=batch_index,
                channel_id=channel_id,
                created_at=now,
                reserved_ms=reserve_ms,
                reserve_period=period.start if reserve_ms else None,
                warnings=json.dumps(warnings),
            )
            session.add(row)
            rows.append(row)
            if reserve_ms:
                session.add(
                    LedgerRow(
                        user_id=row.owner_id,
                        job_id=row.id,
                        kind="reserve",
                        amount_ms=reserve_ms,
                        period_start=period.start,
                        created_at=now,
                    )
                )
        session.flush()
        return rows

    def _lock_user(self, session: Session, user_id: int) -> UserRow:
        """The member's row, created if new, locked for this transaction (``FOR UPDATE`` on
        backends that have it; SQLite's immediate transaction already holds the lock)."""
        user = session.exec(
            select(UserRow).where(col(UserRow.user_id) == user_id).with_for_update()
        ).first()
        if user is None:
            user = UserRow(user_id=user_id, created_at=self.clock())
            session.add(user)
            session.flush()
        return user

    def _check_caps(self, session: Session, user_id: int, count: int) -> None:
        running, waiting = self.queue.max_running_per_user, self.queue.max_waiting_per_user
        limit = running + waiting
        mine = col(JobRow.owner_id) == user_id
        pending, total = session.exec(
            select(
                func.count().filter(mine, col(JobRow.state).in_(_PENDING)),
                func.count().filter(col(JobRow.state) == JobState.QUEUED),
            ).where(col(JobRow.state).in_(_PENDING))
        ).one()
        if pending + count > limit:
            room = max(0, limit - pending)
            if room and count > 1:
                raise QueueFull(
                    f"This prompt makes {count} jobs, but you have room for {room} more: at most "
                    f"{limit} of your jobs can be queued or running ({running} running and "
                    f"{waiting} waiting). Try fewer, or wait for some to finish."
                )
            raise QueueFull(
                f"You already have {pending} jobs queued or running, the most allowed "
                f"({running} running and {waiting} waiting). Wait for one to finish, "
                "or cancel one."
            )
        if total + count > self.queue.max_waiting_total:
            raise QueueFull(
                f"The queue is full ({total} jobs waiting for the GPU). "
                "Please try again in a few minutes."
            )

    def _price(
        self,
        session: Session,
        user_id: int,
        tier_name: str,
        period: Period,
        specs: Sequence[GenerationSpec],
    ) -> list[tuple[GenerationSpec, int, list[str]]]:
        """Each spec with the lane it gets, the GPU time it reserves (ms) and queue warnings."""
        tier = tier_settings(self.quota, tier_name)
        if not self.quota.enabled:
            return [(_in_lane(spec, _lane(spec)), 0, []) for spec in specs]
        left = balance(session, user_id, period.start, tier.budget).left_ms
        priced = []
        estimates: dict[tuple[str, int, int, int], float] = {}
        for spec in specs:
            lane = _lane(spec)
            if lane == "relax" and not tier.relax:
                raise QuotaExceeded(
                    f"Relax mode is not part of your plan ({tier_name}); use --fast instead."
                )
            key = (spec.model, spec.width, spec.height, spec.steps)
            if key not in estimates:
                estimates[key] = estimate_seconds(session, spec, self.quota)
            estimate = estimates[key]
            cost = to_ms(estimate * lane_multiplier(self.quota, lane))
            warnings = []
            if cost > 0 and cost > left:
                relax_cost = to_ms(estimate * lane_multiplier(self.quota, "relax"))
                if lane == "relax" or not tier.relax or (relax_cost and relax_cost > left):
                    raise QuotaExceeded(
                        _out_of_time(lane, self.quota, cost, left, tier, period),
                        resets_at=period.end,
                    )
                lane, cost = "relax", relax_cost
                warnings.append(
                    f"You are out of fast GPU time until {_when(period.end)}, so this job runs "
                    "in relax mode: free, but it starts only when no fast job is waiting."
                )
            left -= cost
            priced.append((_in_lane(spec, lane), cost, warnings))
        return priced

    # --- running -----------------------------------------------------------------------------

    def start_next(self, scheduler: FairScheduler) -> JobRecord | None:
        """Move the job the scheduler picks from queued to running; None when none may start."""
        with self.db.write() as session:
            waiting = self._waiting(session)
            running = dict(
                session.exec(
                    select(JobRow.owner_id, func.count())
                    .where(col(JobRow.state) == JobState.RUNNING)
                    .group_by(col(JobRow.owner_id))
                ).all()
            )
            entry = scheduler.choose(waiting, running)
            if entry is None:
                return None
            record = self._mark_running(session, self._row_or_fail(session, entry.job_id))
        scheduler.served(entry.owner_id)
        return record

    def start(self, job_id: str) -> JobRecord:
        """Move this queued job to running, whatever the scheduler would pick (for tools,
        benchmarks and tests; the dispatcher uses ``start_next``)."""
        with self.db.write() as session:
            row = self._row_or_fail(session, job_id)
            if row.state != JobState.QUEUED:
                raise ValueError(f"job {job_id} is {row.state}, not queued")
            return self._mark_running(session, row)

    def _mark_running(self, session: Session, row: JobRow) -> JobRecord:
        row.state = JobState.RUNNING
        row.started_at = self.clock()
        row.attempts += 1
        session.add(row)
        return self._record(row)

    def finish_success(
        self,
        job_id: str,
        gpu_seconds: float,
        images: Sequence[StoredImage],
        grid: StoredImage | None,
        warnings: Sequence[str] = (),
        flagged: Sequence[int] = (),
    ) -> JobRecord:
        """Record a finished job's images, the GPU worker's ``warnings`` and the images the
        safety classifier ``flagged``, and charge its measured cost (releasing its hold)."""
        with self.db.write() as session:
            row = self._row_or_fail(session, job_id)
            if row.state != JobState.RUNNING:
                return self._record(row)
            now = self.clock()
            fresh = {stored.sha256: stored for stored in (*images, grid) if stored is not None}
            known = session.exec(
                select(ImageRow.sha256).where(col(ImageRow.sha256).in_(list(fresh)))
            ).all()
            for sha in known:
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
            charge = 0
            if self.quota.enabled:
                charge = to_ms(gpu_seconds * lane_multiplier(self.quota, row.lane))
            self._release(session, row, now)
            if charge:
                period = period_at(self.quota, tier_settings(self.quota, row.tier), now)
                session.add(
                    LedgerRow(
                        user_id=row.owner_id,
                        job_id=row.id,
                        kind="charge",
                        amount_ms=charge,
                        period_start=period.start,
                        created_at=now,
                    )
                )
            row.state = JobState.SUCCEEDED
            row.finished_at = now
            row.gpu_seconds = gpu_seconds
            row.charged_ms = charge
            row.images = json.dumps([stored.sha256 for stored in images])
            row.grid_sha = grid.sha256 if grid is not None else None
            row.warnings = json.dumps(list(dict.fromkeys([*json.loads(row.warnings), *warnings])))
            row.flagged = json.dumps(list(flagged))
            row.error = None
            session.add(row)
            return self._record(row)

    def finish_unsuccessful(self, job_id: str, state: JobState, error: str) -> JobRecord:
        """End a pending job as failed or cancelled and give its reserved time back."""
        if state not in (JobState.FAILED, JobState.CANCELLED):
            raise ValueError(f"not an unsuccessful state: {state}")
        with self.db.write() as session:
            row = self._row_or_fail(session, job_id)
            if row.state in _PENDING:
                self._end(session, row, state, error)
            return self._record(row)

    def requeue(self, job_id: str) -> JobRecord:
        """Put a job interrupted by a clean shutdown back in the queue, its start not counted."""
        with self.db.write() as session:
            row = self._row_or_fail(session, job_id)
            if row.state == JobState.RUNNING:
                row.state = JobState.QUEUED
                row.started_at = None
                row.attempts = max(0, row.attempts - 1)
                session.add(row)
            return self._record(row)

    def recover(self) -> tuple[list[JobRecord], list[JobRecord]]:
        """After a crash: jobs left ``running`` go back to the queue, or fail (refunded) once
        they were started more than ``queue.retry_limit`` extra times. Returns (requeued,
        failed)."""
        requeued, failed = [], []
        with self.db.write() as session:
            rows = session.exec(
                select(JobRow)
                .where(col(JobRow.state) == JobState.RUNNING)
                .order_by(col(JobRow.seq))
            ).all()
            for row in rows:
                if row.attempts > self.queue.retry_limit:
                    self._end(
                        session,
                        row,
                        JobState.FAILED,
                        f"The bot stopped {row.attempts} times while this job was running, so "
                        "it was given up. Your GPU time was refunded.",
                    )
                    failed.append(self._record(row))
                else:
                    row.state = JobState.QUEUED
                    row.started_at = None
                    session.add(row)
                    requeued.append(self._record(row))
        return requeued, failed

    def cancel_queued(self, job_id: str, user_id: int | None) -> JobRecord:
        """Cancel ``job_id`` if it still waits; a running one is returned unchanged for the
        caller to interrupt. ``user_id`` None: an admin, who may cancel anyone's job."""
        with self.db.write() as session:
            row = self._row(session, job_id)
            if row is None:
                raise UserError("There is no such job.")
            if user_id is not None and row.owner_id != user_id:
                raise UserError("Only the person who started a job can cancel it.")
            if row.state == JobState.QUEUED:
                who = "you" if user_id is not None else "an admin"
                self._end(session, row, JobState.CANCELLED, f"Cancelled by {who}.")
            elif row.state != JobState.RUNNING:
                done = {"failed": "failed", "cancelled": "been cancelled"}
                raise UserError(f"This job has already {done.get(row.state, 'finished')}.")
            return self._record(row)

    def _end(self, session: Session, row: JobRow, state: JobState, error: str) -> None:
        now = self.clock()
        self._release(session, row, now)
        row.state = state
        row.finished_at = now
        row.error = error
        session.add(row)

    def _release(self, session: Session, row: JobRow, now: datetime) -> None:
        """Give the job's hold back, in the period it was taken from."""
        if row.reserved_ms and row.reserve_period is not None:
            session.add(
                LedgerRow(
                    user_id=row.owner_id,
                    job_id=row.id,
                    kind="release",
                    amount_ms=-row.reserved_ms,
                    period_start=row.reserve_period,
                    created_at=now,
                )
            )

    # --- delivery ----------------------------------------------------------------------------

    def set_message(self, job_id: str, channel_id: int, message_id: int) -> JobRecord:
        with self.db.write() as session:
            row = self._row_or_fail(session, job_id)
            row.channel_id, row.message_id = channel_id, message_id
            session.add(row)
            return self._record(row)

    def mark_delivered(self, job_id: str) -> JobRecord:
        return self._set_delivery(job_id, JobState.DELIVERED, None)

    def mark_undelivered(self, job_id: str, error: str) -> JobRecord:
        return self._set_delivery(job_id, JobState.UNDELIVERED, error)

    def _set_delivery(self, job_id: str, state: JobState, error: str | None) -> JobRecord:
        with self.db.write() as session:
            row = self._row_or_fail(session, job_id)
            if row.state in _SUCCEEDED:
                row.state = state
                row.error = error
                session.add(row)
            return self._record(row)

    # --- reading -----------------------------------------------------------------------------

    def job(self, job_id: str) -> JobRecord | None:
        with self.db.read() as session:
            row = self._row(session, job_id)
            return None if row is None else self._record(row)

    def jobs_of(
        self, user_id: int, states: Iterable[str] | None = None, limit: int = 100
    ) -> list[JobRecord]:
        """The member's most recent ``limit`` jobs (in ``states``), oldest first."""
        query = select(JobRow).where(col(JobRow.owner_id) == user_id)
        if states is not None:
            query = query.where(col(JobRow.state).in_([str(state) for state in states]))
        with self.db.read() as session:
            rows = session.exec(query.order_by(col(JobRow.seq).desc()).limit(limit)).all()
            return [self._record(row) for row in reversed(rows)]

    def jobs_in(self, states: Iterable[str]) -> list[JobRecord]:
        """Every job in ``states``, oldest first."""
        with self.db.read() as session:
            rows = session.exec(
                select(JobRow)
                .where(col(JobRow.state).in_([str(state) for state in states]))
                .order_by(col(JobRow.seq))
            ).all()
            return [self._record(row) for row in rows]

    def delivered_in(
        self, channel_ids: Iterable[int], owner_id: int | None, offset: int, limit: int
    ) -> list[JobRecord]:
        """Delivered jobs posted in ``channel_ids`` (only ``owner_id``'s, when given), newest
        first: a page of the gallery."""
        query = select(JobRow).where(
            col(JobRow.state) == JobState.DELIVERED,
            col(JobRow.channel_id).in_(list(channel_ids)),
        )
        if owner_id is not None:
            query = query.where(col(JobRow.owner_id) == owner_id)
        query = query.order_by(col(JobRow.seq).desc()).offset(offset).limit(limit)
        with self.db.read() as session:
            return [self._record(row) for row in session.exec(query).all()]

    def counts(self) -> dict[tuple[str, str], int]:
        """How many jobs are in each (state, lane)."""
        with self.db.read() as session:
            rows = session.exec(
                select(JobRow.state, JobRow.lane, func.count()).group_by(
                    col(JobRow.state), col(JobRow.lane)
                )
            ).all()
        return {(state, lane): count for state, lane, count in rows}

    def waiting(self) -> list[QueueEntry]:
        with self.db.read() as session:
            return self._waiting(session)

    def _waiting(self, session: Session) -> list[QueueEntry]:
        rows = session.exec(
            select(JobRow.id, JobRow.owner_id, JobRow.lane, JobRow.seq).where(
                col(JobRow.state) == JobState.QUEUED
            )
        ).all()
        return [QueueEntry(job_id, owner, lane, seq or 0) for job_id, owner, lane, seq in rows]

    def _row(self, session: Session, job_id: str) -> JobRow | None:
        return session.exec(select(JobRow).where(col(JobRow.id) == job_id)).first()

    def _row_or_fail(self, session: Session, job_id: str) -> JobRow:
        row = self._row(session, job_id)
        if row is None:
            raise KeyError(f"no job {job_id}")
        return row

    def _record(self, row: JobRow) -> JobRecord:
        shas = tuple(json.loads(row.images))
        return JobRecord(
            id=row.id,
            owner_id=row.owner_id,
            state=JobState(row.state),
            lane=row.lane,
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
            image_paths=tuple(self.images.path(sha) for sha in shas),
            grid_path=self.images.path(row.grid_sha) if row.grid_sha else None,
        )

    # --- quota -------------------------------------------------------------------------------

    def quota_status(self, user_id: int, role_ids: Iterable[int] | None = None) -> QuotaStatus:
        """The member's balance; their tier from ``role_ids``, else the one seen last."""
        with self.db.read() as session:
            return self._status(session, user_id, role_ids)

    def grant(self, user_id: int, seconds: float, note: str = "") -> QuotaStatus:
        """Add ``seconds`` of GPU time to this period (negative takes time away)."""
        with self.db.write() as session:
            self._lock_user(session, user_id)
            now = self.clock()
            session.add(
                LedgerRow(
                    user_id=user_id,
                    kind="grant",
                    amount_ms=-to_ms(seconds),
                    period_start=self._period(session, user_id, None, now).start,
                    created_at=now,
                    note=note,
                )
            )
            session.flush()
            return self._status(session, user_id, None)

    def reset(self, user_id: int, note: str = "") -> QuotaStatus:
        """Forgive this period's usage: the balance is the full budget (plus grants) again."""
        with self.db.write() as session:
            self._lock_user(session, user_id)
            now = self.clock()
            period = self._period(session, user_id, None, now)
            tier = tier_settings(self.quota, self._tier(session, user_id, None))
            used = balance(session, user_id, period.start, tier.budget).used_ms
            if used:
                session.add(
                    LedgerRow(
                        user_id=user_id,
                        kind="reset",
                        amount_ms=-used,
                        period_start=period.start,
                        created_at=now,
                        note=note,
                    )
                )
                session.flush()
            return self._status(session, user_id, None)

    def _tier(self, session: Session, user_id: int, role_ids: Iterable[int] | None) -> str:
        if role_ids is not None:
            return tier_of(self.quota, role_ids)
        user = session.get(UserRow, user_id)
        return known_tier(self.quota, user.tier if user else None)

    def _period(
        self, session: Session, user_id: int, role_ids: Iterable[int] | None, now: datetime
    ) -> Period:
        tier = tier_settings(self.quota, self._tier(session, user_id, role_ids))
        return period_at(self.quota, tier, now)

    def _status(
        self, session: Session, user_id: int, role_ids: Iterable[int] | None
    ) -> QuotaStatus:
        name = self._tier(session, user_id, role_ids)
        tier = tier_settings(self.quota, name)
        period = period_at(self.quota, tier, self.clock())
        sums = balance(session, user_id, period.start, tier.budget)
        if not self.quota.enabled:
            lane: str | None = "fast"
        elif sums.left_ms > 0:
            lane = "fast"
        else:
            lane = "relax" if tier.relax else None
        return QuotaStatus(
            user_id=user_id,
            tier=name,
            enabled=self.quota.enabled,
            period=tier.period,
            period_start=period.start,
            next_reset=period.end,
            budget=tier.budget,
            used=to_seconds(sums.used_ms),
            granted=to_seconds(sums.granted_ms),
            held=to_seconds(sums.held_ms),
            left=to_seconds(sums.left_ms),
            relax_allowed=tier.relax,
            lane=lane,
        )

    # --- preferences and macros --------------------------------------------------------------

    def preferences(self, user_id: int) -> dict[str, Any]:
        with self.db.read() as session:
            user = session.get(UserRow, user_id)
            return dict(json.loads(user.preferences)) if user else {}

    def set_preference(self, user_id: int, key: str, value: Any) -> dict[str, Any]:
        """Set one preference (any JSON value; None removes it); returns all of them."""
        with self.db.write() as session:
            user = self._lock_user(session, user_id)
            preferences = dict(json.loads(user.preferences))
            if value is None:
                preferences.pop(key, None)
            else:
                preferences[key] = value
            user.preferences = json.dumps(preferences)
            session.add(user)
            return preferences

    def macros(self, user_id: int) -> dict[str, str]:
        with self.db.read() as session:
            rows = session.exec(
                select(MacroRow).where(col(MacroRow.user_id) == user_id).order_by(MacroRow.name)
            ).all()
            return {row.name: row.flags for row in rows}

    def set_macro(self, user_id: int, name: str, flags: str) -> None:
        with self.db.write() as session:
            self._lock_user(session, user_id)
            row = session.get(MacroRow, (user_id, name))
            if row is None:
                row = MacroRow(user_id=user_id, name=name, flags=flags)
            row.flags = flags
            session.add(row)

    def delete_macro(self, user_id: int, name: str) -> bool:
        with self.db.write() as session:
            row = session.get(MacroRow, (user_id, name))
            if row is None:
                return False
            session.delete(row)
            return True


def _lane(spec: GenerationSpec) -> str:
    return spec.lane if spec.lane in LANES else "fast"


def _in_lane(spec: GenerationSpec, lane: str) -> GenerationSpec:
    return spec if spec.lane == lane else spec.model_copy(update={"lane": lane})


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def duration(seconds: float) -> str:
    """GPU time for people: "42 s", "12.5 min", "3.2 h"."""
    if abs(seconds) < 120:
        return f"{seconds:.0f} s"
    if abs(seconds) < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _out_of_time(
    lane: str, quota: QuotaSettings, cost_ms: int, left_ms: int, tier: QuotaTier, period: Period
) -> str:
    multiplier = lane_multiplier(quota, lane)
    price = f" ({lane} time counts {multiplier:g}x)" if multiplier != 1 else ""
    return (
        f"Not enough GPU time left: this job needs about {duration(to_seconds(cost_ms))}{price}, "
        f"and you have {duration(max(0.0, to_seconds(left_ms)))} of your {tier.period} "
        f"{duration(tier.budget)}. Your time resets at {_when(period.end)}."
    )
