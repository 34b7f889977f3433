"""Every change to a job's row, each as one short write transaction: submit, start, finish,
cancel, crash recovery and delivery; and reading jobs back.

Synchronous on purpose: ``JobService`` calls it from its database threads, and scripts,
tests and the benchmark call it directly, from as many threads or processes as they like.
Checks and the writes they guard share a transaction that holds the write lock from its
first statement (see ``storage.database``), so two racing submits can never both spend the
last of a budget or both take the last place in a queue. A job's ledger rows (``Ledger``) are
written in the same transaction as the job.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import Session, col, select

from imagine_bot.config import Settings
from imagine_bot.engine.errors import UserError
from imagine_bot.engine.images.store import ImageStore, StoredImage
from imagine_bot.engine.jobs.caps import check_caps
from imagine_bot.engine.jobs.ledger import Ledger
from imagine_bot.engine.jobs.members import member_row
from imagine_bot.engine.jobs.periods import tier_of
from imagine_bot.engine.jobs.records import JobRecord, Parent, Requester
from imagine_bot.engine.jobs.rows import add_images, find_job, job_or_fail, to_record
from imagine_bot.engine.jobs.scheduler import FairScheduler, QueueEntry
from imagine_bot.engine.jobs.storage.database import Database
from imagine_bot.engine.jobs.storage.tables import JobRow
from imagine_bot.engine.spec import (
    PENDING_STATES,
    SUCCESS_STATES,
    GenerationSpec,
    JobState,
)
from imagine_bot.engine.times import Clock, utc_now

_PENDING = [str(state) for state in PENDING_STATES]


class JobStore:
    """The jobs of one database; ``ledger`` accounts for their GPU time."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        images: ImageStore,
        clock: Clock = utc_now,
    ) -> None:
        self.settings = settings
        self.queue = settings.queue
        self.db = database
        self.images = images
        self.clock = clock
        self.ledger = Ledger(settings.quota, database, clock)

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
        with self.db.write() as session:
            existing = self._existing(session, interaction_id, parent)
            if existing:
                return [self._record(row) for row in existing], False
            rows = self._insert_jobs(session, requester, specs, interaction_id, channel_id, parent)
            return [self._record(row) for row in rows], True

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
            return list(
                session.exec(
                    select(JobRow).where(
                        col(JobRow.parent_id) == parent.job_id,
                        col(JobRow.action) == parent.action,
                        col(JobRow.parent_index) == parent.index,
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
        now = self.clock()
        user = member_row(session, requester.user_id, now)
        tier = tier_of(self.ledger.quota, requester.role_ids)
        user.tier = tier
        session.add(user)
        if parent is not None and find_job(session, parent.job_id) is None:
            raise UserError(f"The job {parent.job_id} no longer exists.")
        check_caps(session, self.settings, requester.user_id, specs)
        rows = []
        for batch_index, priced in enumerate(
            self.ledger.price(session, requester.user_id, tier, specs, now)
        ):
            spec = priced.spec
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
                parent_id=parent.job_id if parent else None,
                action=parent.action if parent else spec.action,
                parent_index=parent.index if parent else None,
                interaction_id=interaction_id,
                batch_index=batch_index,
                channel_id=channel_id,
                created_at=now,
                reserved_ms=priced.reserve_ms,
                reserve_period=priced.reserve_period,
                warnings=json.dumps(priced.warnings),
            )
            session.add(row)
            self.ledger.reserve(session, row, now)
            rows.append(row)
        session.flush()
        return rows

    # --- running -----------------------------------------------------------------------------

    def start_next(self, scheduler: FairScheduler) -> JobRecord | None:
        """Move the job the scheduler picks from queued to running; None when none may start."""
        started = self.start_batch(scheduler, max_images=0)
        return started[0] if started else None

    def start_batch(self, scheduler: FairScheduler, max_images: int) -> list[JobRecord]:
        """Start the job the scheduler picks and the ones it would pick next while they share its
        ``batch_key`` and fit in ``max_images`` images; running caps count every worker's jobs."""
        started: list[JobRecord] = []
        with self.db.write() as session:
            waiting, running = self._waiting(session), self._running(session)
            while (entry := scheduler.choose(waiting, running)) is not None:
                row = job_or_fail(session, entry.job_id)
                key = GenerationSpec.model_validate_json(row.spec).batch_key
                images = sum(len(job.spec.seeds) for job in started) + len(json.loads(row.seeds))
                if started and (
                    key is None or key != started[0].spec.batch_key or images > max_images
                ):
                    break
                started.append(self._mark_running(session, row))
                scheduler.served(entry.owner_id)
                waiting.remove(entry)
                running[entry.owner_id] = running.get(entry.owner_id, 0) + 1
                if key is None:
                    break
        return started

    def _running(self, session: Session) -> dict[int, int]:
        """How many jobs each member has running, on all workers together."""
        return dict(
            session.exec(
                select(JobRow.owner_id, func.count())
                .where(col(JobRow.state) == JobState.RUNNING)
                .group_by(col(JobRow.owner_id))
            ).all()
        )

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
        texts: Sequence[str] = (),
    ) -> JobRecord:
        """Record a finished job's images (or a /describe job's ``texts``), the GPU worker's
        ``warnings`` and the images the safety classifier ``flagged``, and charge its measured
        cost (releasing its hold)."""
        with self.db.write() as session:
            row = job_or_fail(session, job_id)
            if row.state != JobState.RUNNING:
                return self._record(row)
            now = self.clock()
            add_images(session, [*images, grid] if grid is not None else images, now)
            charge = self.ledger.charge(session, row, gpu_seconds, now)
            row.state = JobState.SUCCEEDED
            row.finished_at = now
            row.gpu_seconds = gpu_seconds
            row.charged_ms = charge
            row.images = json.dumps([stored.sha256 for stored in images])
            row.grid_sha = grid.sha256 if grid is not None else None
            row.warnings = json.dumps(list(dict.fromkeys([*json.loads(row.warnings), *warnings])))
            row.flagged = json.dumps(list(flagged))
            row.texts = json.dumps(list(texts))
            row.error = None
            session.add(row)
            return self._record(row)

    def finish_unsuccessful(
        self, job_id: str, state: JobState, error: str, gpu_seconds: float = 0.0
    ) -> JobRecord:
        """End a pending job as failed or cancelled and give its reserved time back, less
        ``gpu_seconds`` (a cancelled job whose previews the member saw) charged."""
        if state not in (JobState.FAILED, JobState.CANCELLED):
            raise ValueError(f"not an unsuccessful state: {state}")
        with self.db.write() as session:
            row = job_or_fail(session, job_id)
            if row.state in _PENDING:
                self._end(session, row, state, error, gpu_seconds)
            return self._record(row)

    def requeue(self, job_id: str) -> JobRecord:
        """Put a job interrupted by a clean shutdown back in the queue, its start not counted."""
        with self.db.write() as session:
            row = job_or_fail(session, job_id)
            if row.state == JobState.RUNNING:
                row.state = JobState.QUEUED
                row.started_at = None
                row.attempts = max(0, row.attempts - 1)
                session.add(row)
            return self._record(row)

    def retry(self, job_id: str) -> JobRecord:
        """A job whose worker died under it: back to the queue (its start counted) to run on
        another worker, or failed and refunded past ``queue.retry_limit`` extra starts. Nothing
        was charged for the lost run."""
        with self.db.write() as session:
            row = job_or_fail(session, job_id)
            if row.state == JobState.RUNNING:
                self._requeue_or_fail(session, row, "The GPU worker stopped")
            return self._record(row)

    def recover(self) -> tuple[list[JobRecord], list[JobRecord]]:
        """After a crash: jobs left ``running`` go back to the queue, or fail (refunded) once
        they were started more than ``queue.retry_limit`` extra times. Returns (requeued,
        failed)."""
        requeued: list[JobRecord] = []
        failed: list[JobRecord] = []
        with self.db.write() as session:
            rows = session.exec(
                select(JobRow)
                .where(col(JobRow.state) == JobState.RUNNING)
                .order_by(col(JobRow.seq))
            ).all()
            for row in rows:
                self._requeue_or_fail(session, row, "The bot stopped")
                (failed if row.state == JobState.FAILED else requeued).append(self._record(row))
        return requeued, failed

    def _requeue_or_fail(self, session: Session, row: JobRow, what: str) -> None:
        if row.attempts > self.queue.retry_limit:
            self._end(
                session,
                row,
                JobState.FAILED,
                f"{what} {row.attempts} times while this job was running, so it was given up. "
                "Your GPU time was refunded.",
            )
        else:
            row.state = JobState.QUEUED
            row.started_at = None
            session.add(row)

    def cancel_queued(self, job_id: str, user_id: int | None) -> JobRecord:
        """Cancel ``job_id`` if it still waits; a running one is returned unchanged for the
        caller to interrupt. ``user_id`` None: an admin, who may cancel anyone's job."""
        with self.db.write() as session:
            row = find_job(session, job_id)
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

    def _end(
        self, session: Session, row: JobRow, state: JobState, error: str, gpu_seconds: float = 0.0
    ) -> None:
        now = self.clock()
        if gpu_seconds > 0 and row.state == JobState.RUNNING:
            row.gpu_seconds = gpu_seconds
            row.charged_ms = self.ledger.charge(session, row, gpu_seconds, now)
        else:
            self.ledger.release(session, row, now)
        row.state = state
        row.finished_at = now
        row.error = error
        session.add(row)

    # --- delivery ----------------------------------------------------------------------------

    def set_message(self, job_id: str, channel_id: int, message_id: int) -> JobRecord:
        with self.db.write() as session:
            row = job_or_fail(session, job_id)
            row.channel_id, row.message_id = channel_id, message_id
            session.add(row)
            return self._record(row)

    def mark_delivered(self, job_id: str) -> JobRecord:
        return self._set_delivery(job_id, JobState.DELIVERED, None)

    def mark_undelivered(self, job_id: str, error: str) -> JobRecord:
        return self._set_delivery(job_id, JobState.UNDELIVERED, error)

    def _set_delivery(self, job_id: str, state: JobState, error: str | None) -> JobRecord:
        with self.db.write() as session:
            row = job_or_fail(session, job_id)
            if row.state in SUCCESS_STATES:
                row.state = state
                row.error = error
                session.add(row)
            return self._record(row)

    # --- reading -----------------------------------------------------------------------------

    def job(self, job_id: str) -> JobRecord | None:
        with self.db.read() as session:
            row = find_job(session, job_id)
            return None if row is None else self._record(row)

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

    def _record(self, row: JobRow) -> JobRecord:
        return to_record(row, self.images)
