"""The job service: a durable queue, GPU-time quotas and the dispatcher to the GPU workers,
behind one async API for the bot.

Every method is a coroutine for the event loop; database work runs on a small thread pool, so
the loop never blocks on I/O. The service does not know the plugin system: it is handed a
``WorkerPool`` (``imagine_bot.workers``: local threads or Ray actors), or a bare ``Runner``
(``JobRunner.submit``) for one worker thread.

A job's life: ``submit`` writes it as ``queued`` (and reserves its expected GPU time) before
returning; the dispatcher (``dispatch.py``) starts the jobs the fair scheduler picks, as many as
the workers have slots, and marks them ``running``; the result's images go to the
``ImageStore`` and the job becomes ``succeeded`` with its measured GPU time charged, or
``failed`` / ``cancelled`` with its time refunded. The bot then calls ``mark_delivered`` or
``mark_undelivered``. A job whose worker dies goes back to the queue; if the process dies,
``start`` resumes the queue and re-runs the jobs that were running (seeds are in the spec, so
they give the same images), at most ``queue.retry_limit`` more times.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from imagine_bot.config import Settings
from imagine_bot.engine.images.store import ImageStore
from imagine_bot.engine.jobs import listings
from imagine_bot.engine.jobs.dispatch import Dispatcher
from imagine_bot.engine.jobs.favourites import Favourites
from imagine_bot.engine.jobs.hub import DatabaseThreads, JobEvents, Listener
from imagine_bot.engine.jobs.members import Members
from imagine_bot.engine.jobs.pool import Runner, RunnerPool, WorkerPool
from imagine_bot.engine.jobs.profiles import ProfileBook
from imagine_bot.engine.jobs.queue_state import store_pause, stored_pause
from imagine_bot.engine.jobs.records import (
    RETRY_LIMIT,
    CancelledEvent,
    FailedEvent,
    JobEvent,
    JobRecord,
    Parent,
    QueuedEvent,
    QueueSnapshot,
    QuotaStatus,
    Requester,
)
from imagine_bot.engine.jobs.scheduler import FairScheduler
from imagine_bot.engine.jobs.storage import Database, upgrade
from imagine_bot.engine.jobs.store import JobStore
from imagine_bot.engine.spec import GenerationSpec, JobState
from imagine_bot.engine.times import Clock, utc_now

log = logging.getLogger(__name__)

CANCEL_WAIT = 30.0
"""Seconds ``cancel`` waits for a running job to stop."""


class JobService:
    """Jobs from submission to delivery, for one GPU worker.

    Create it, ``await start()``, use it, ``await stop()``. Events (``subscribe``) always
    arrive on the event loop that called ``start``. Run one service per database: ``start``
    takes jobs left ``running`` for jobs whose process died.
    """

    def __init__(
        self,
        settings: Settings,
        database: Database | None,
        images: ImageStore,
        workers: WorkerPool | Runner,
        *,
        clock: Clock = utc_now,
    ) -> None:
        """``database`` None opens ``settings.database`` (the SQLite file under ``data_dir``
        by default). ``workers`` runs the jobs (a bare ``Runner`` is one worker); the caller
        closes it after ``stop``. ``clock`` returns the aware current time; tests move it
        across periods."""
        self.settings = settings
        self._owns_database = database is None
        self.database = database or Database(
            settings.database.resolved_url(settings.paths.data_dir),
            busy_timeout=settings.database.busy_timeout,
        )
        self.images = images
        self.store = JobStore(settings, self.database, images, clock)
        self.members = Members(self.database, clock)
        self.favourites = Favourites(self.database, clock)
        self._database_threads = DatabaseThreads()
        self.profiles = ProfileBook(self.database, self._database_threads.run, clock)
        self.scheduler = FairScheduler(settings.queue.max_running_per_user)
        self._owns_workers = not isinstance(workers, WorkerPool)
        self.workers = workers if isinstance(workers, WorkerPool) else RunnerPool(workers)
        self._db = self._database_threads.run
        self._events = JobEvents()
        self._order = asyncio.Lock()
        """Held while a job is queued or started and its event published, so a job's
        ``queued`` event always comes before its ``started`` one."""
        self._dispatcher = Dispatcher(
            settings,
            self.store,
            self.scheduler,
            self.workers,
            images,
            database=self._database_threads,
            events=self._events,
            order=self._order,
        )
        self._publish = self._events.publish
        self._positions = self._dispatcher.positions

    # --- life cycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Create or upgrade the schema, recover from a crash, and start dispatching.

        Jobs left ``running`` by a dead process are queued again (``QueuedEvent``) or, past
        ``queue.retry_limit``, failed and refunded (``FailedEvent``); subscribe before
        calling this to hear about them. Jobs that succeeded but were never delivered are
        in ``pending_deliveries()``.
        """
        self._events.bind(asyncio.get_running_loop())
        await self._db(upgrade, self.database)
        self._dispatcher.paused = await self._db(stored_pause, self.database)
        async with self._order:
            requeued, failed = await self._db(self.store.recover)
            for record in failed:
                self._publish(FailedEvent(record, RETRY_LIMIT))
            positions = await self._positions()
            for record in requeued:
                self._publish(QueuedEvent(record, positions.get(record.id, 0)))
        self._dispatcher.start()

    async def stop(self, timeout: float = 30.0) -> None:
        """Stop dispatching. A running job is interrupted at its next step and goes back to
        the queue (its start not counted), to run again after the next ``start``."""
        await self._dispatcher.stop(timeout)
        await self._events.drain(timeout)
        self._database_threads.close()
        if self._owns_workers:
            self.workers.close()
        if self._owns_database:
            self.database.dispose()

    async def pause(self) -> None:
        """Start no new jobs (the running ones finish) until ``resume``, across restarts."""
        await self._db(store_pause, self.database, True)
        self._dispatcher.paused = True

    async def resume(self) -> None:
        await self._db(store_pause, self.database, False)
        self._dispatcher.paused = False
        self._dispatcher.wake()

    @property
    def paused(self) -> bool:
        return self._dispatcher.paused

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every ``JobEvent``, on the event loop; returns an
        unsubscribe function. A listener that raises is logged and keeps its subscription."""
        return self._events.subscribe(listener)

    # --- jobs --------------------------------------------------------------------------------

    async def submit(
        self,
        requester: Requester,
        specs: Sequence[GenerationSpec],
        *,
        interaction_id: int | None = None,
        channel_id: int | None = None,
        parent: Parent | None = None,
    ) -> list[JobRecord]:
        """Queue one job per spec (all or none) and return their records, in spec order.

        The rows are written, and the expected GPU time reserved, before this returns: a
        returned record is an accepted job. Each job then gets a ``QueuedEvent``.

        Idempotent: a repeated ``interaction_id`` returns the jobs that interaction already
        made (whatever ``specs`` says), and a ``parent`` (job id, action, index) returns the
        pending child that button press already made; no events are sent again then.

        Raises ``UserError`` with the facts and a plain message: ``QueueFull`` for the
        per-member and global caps, ``QuotaExceeded`` (``OutOfTime`` with ``resets_at``,
        ``LaneNotInPlan``) when their GPU time is out and their tier has no relax mode. When
        fast time is out and relax is allowed, the job is accepted in the relax lane with a
        note in ``record.warnings``.
        """
        async with self._order:
            records, created = await self._db(
                self.store.submit,
                requester,
                list(specs),
                interaction_id=interaction_id,
                channel_id=channel_id,
                parent=parent,
            )
            if created:
                positions = await self._positions()
                for record in records:
                    self._publish(QueuedEvent(record, positions.get(record.id, 0)))
        self._dispatcher.wake()
        return records

    async def cancel(self, job_id: str, user_id: int | None) -> JobRecord:
        """Cancel a job and refund it; ``user_id`` must own it (None: an admin).

        A queued job is removed at once. A running job is stopped at its next step; this
        waits (up to 30 s) for that and returns the final record, which may say
        ``succeeded`` if the job finished first. Raises ``UserError`` when the job does not
        exist, belongs to someone else or has already ended.
        """
        record = await self._db(self.store.cancel_queued, job_id, user_id)
        if record.state == JobState.CANCELLED:
            self._publish(CancelledEvent(record))
            self._dispatcher.wake()
            return record
        active = self._dispatcher.active.get(job_id)
        if active is None:
            return record
        active.control.cancel()
        await asyncio.wait({active.done}, timeout=CANCEL_WAIT)
        return await self.job(job_id) or record

    async def job(self, job_id: str) -> JobRecord | None:
        return await self._db(self.store.job, job_id)

    async def finished(self, job_id: str) -> JobRecord:
        """Wait for ``job_id`` to end (succeeded, failed or cancelled) and return it."""
        ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def listen(event: JobEvent) -> None:
            if event.job.id == job_id and not event.job.pending and not ended.done():
                ended.set_result(None)

        unsubscribe = self.subscribe(listen)
        try:
            record = await self.job(job_id)  # it may have ended before we listened
            while record is not None and record.pending:
                await ended
                record = await self.job(job_id)
        finally:
            unsubscribe()
        if record is None:
            raise KeyError(job_id)
        return record

    async def jobs_of(
        self, user_id: int, states: Iterable[str] | None = None, *, limit: int = 100
    ) -> list[JobRecord]:
        """The member's most recent ``limit`` jobs, optionally only those in ``states``
        (``JobState`` values), oldest first."""
        states = None if states is None else list(states)
        return await self._db(listings.jobs_of, self.database, self.images, user_id, states, limit)

    async def queue_position(self, job_id: str) -> int | None:
        """1 if the job starts next, 2 after that...; None when it is not waiting."""
        return (await self._positions()).get(job_id)

    async def queue_snapshot(self) -> QueueSnapshot:
        """Running jobs and waiting jobs in the order they will start."""
        running = await self._db(listings.jobs_in, self.database, self.images, [JobState.RUNNING])
        waiting = await self._db(listings.jobs_in, self.database, self.images, [JobState.QUEUED])
        positions = await self._positions()
        waiting.sort(key=lambda record: positions.get(record.id, len(positions) + 1))
        return QueueSnapshot(tuple(running), tuple(waiting), self.paused)

    async def submitted_by(self, interaction_id: int) -> list[JobRecord]:
        """The jobs ``interaction_id`` submitted; empty when it submitted none (yet)."""
        return await self._db(listings.of_interaction, self.database, self.images, interaction_id)

    async def delivered_jobs(
        self, channel_ids: Iterable[int], owner_id: int | None, offset: int, limit: int
    ) -> list[JobRecord]:
        """Delivered jobs posted in ``channel_ids`` (only ``owner_id``'s, when given), newest
        first, from the ``offset``-th: a page of the gallery."""
        return await self._db(
            listings.delivered_in,
            self.database,
            self.images,
            list(channel_ids),
            owner_id,
            offset,
            limit,
        )

    async def starred_images(
        self, channel_ids: Iterable[int], starred_by: int | None, offset: int, limit: int
    ) -> list[tuple[JobRecord, int]]:
        """The gallery's starred grids (index 0) and images (1-4) in ``channel_ids``, starred
        by ``starred_by`` or by anyone, most recently starred first."""
        return await self._db(
            listings.starred_in,
            self.database,
            self.images,
            list(channel_ids),
            starred_by,
            offset,
            limit,
        )

    async def lineage(
        self, channel_ids: Iterable[int], jobs: Iterable[JobRecord]
    ) -> dict[str, listings.Lineage]:
        """Each job's parent and children as far as the gallery of ``channel_ids`` shows them."""
        parents = {job.id: job.parent_id for job in jobs}
        return await self._db(listings.lineage_in, self.database, list(channel_ids), parents)

    async def toggle_star(self, user_id: int, job_id: str, index: int) -> bool:
        """Star (or unstar) a job's grid (``index`` 0) or image; whether it is starred now."""
        return await self._db(self.favourites.toggle, user_id, job_id, index)

    async def mark_deleted(self, job_id: str) -> None:
        """The owner deleted the job's message: it stays stored, hidden from the gallery."""
        await self._db(self.favourites.delete, job_id)

    async def job_counts(self) -> dict[tuple[str, str], int]:
        """How many jobs are in each (state, lane), for metrics."""
        return await self._db(listings.counts, self.database)

    async def ping(self) -> None:
        """Raise unless the database answers a query."""
        await self._db(listings.counts, self.database)

    async def pending_deliveries(self) -> list[JobRecord]:
        """Jobs that succeeded but are neither delivered nor undelivered (e.g. the process
        stopped before posting them), oldest first."""
        return await self._db(listings.jobs_in, self.database, self.images, [JobState.SUCCEEDED])

    async def set_message(self, job_id: str, channel_id: int, message_id: int) -> JobRecord:
        """Remember the message that shows the job (progress, then the grid)."""
        return await self._db(self.store.set_message, job_id, channel_id, message_id)

    async def mark_delivered(self, job_id: str) -> JobRecord:
        """The result was posted. Only a succeeded (or undelivered) job changes state."""
        return await self._db(self.store.mark_delivered, job_id)

    async def mark_undelivered(self, job_id: str, error: str) -> JobRecord:
        """Posting the result failed for good; ``error`` is kept on the record."""
        return await self._db(self.store.mark_undelivered, job_id, error)

    # --- quota -------------------------------------------------------------------------------

    async def quota_status(self, requester: Requester) -> QuotaStatus:
        """The member's tier (from their roles), GPU time used, held and left, and the next
        reset."""
        return await self._db(self.store.ledger.quota_status, requester.user_id, requester.role_ids)

    async def grant(self, user_id: int, seconds: float) -> QuotaStatus:
        """Admin: add GPU-seconds to the member's current period (negative removes)."""
        return await self._db(self.store.ledger.grant, user_id, seconds)

    async def reset(self, user_id: int) -> QuotaStatus:
        """Admin: forgive the member's usage in the current period."""
        return await self._db(self.store.ledger.reset, user_id)

    # --- preferences and macros --------------------------------------------------------------

    async def preferences(self, user_id: int) -> dict[str, Any]:
        return await self._db(self.members.preferences, user_id)

    async def set_preference(self, user_id: int, key: str, value: Any) -> dict[str, Any]:
        """Set a JSON-serialisable preference (None removes it); returns all of them."""
        return await self._db(self.members.set_preference, user_id, key, value)

    async def macros(self, user_id: int) -> dict[str, str]:
        """The member's macros: name -> the flags it stands for."""
        return await self._db(self.members.macros, user_id)

    async def set_macro(self, user_id: int, name: str, flags: str) -> None:
        await self._db(self.members.set_macro, user_id, name, flags)

    async def delete_macro(self, user_id: int, name: str) -> bool:
        """Whether the macro existed."""
        return await self._db(self.members.delete_macro, user_id, name)
