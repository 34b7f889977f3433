"""The dispatcher: starts the jobs the fair scheduler picks on the worker pool, as many at once
as the pool has slots, and records how each one ended.

Each start takes the next job and, when the pool batches, the jobs right behind it that can
share its pipeline call (``JobStore.start_batch``), so batching never reorders the queue. A job
whose worker dies goes back to the queue and runs on another worker; it is charged only when it
succeeds, so once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from PIL import Image

from imagine_bot.config import Settings
from imagine_bot.engine.control import JobCancelled, JobControl
from imagine_bot.engine.errors import ModelUnavailable, UserError
from imagine_bot.engine.images.store import ImageStore, StoredImage
from imagine_bot.engine.jobs.hub import DatabaseThreads, JobEvents
from imagine_bot.engine.jobs.pool import (
    Work,
    WorkerLost,
    WorkerPool,
    WorkOutput,
    input_shas,
)
from imagine_bot.engine.jobs.records import (
    RETRY_LIMIT,
    CancelledEvent,
    FailedEvent,
    JobEvent,
    JobRecord,
    ProgressEvent,
    QueuedEvent,
    StartedEvent,
    SucceededEvent,
)
from imagine_bot.engine.jobs.scheduler import FairScheduler
from imagine_bot.engine.jobs.store import JobStore
from imagine_bot.engine.spec import JobState

log = logging.getLogger(__name__)

IDLE_POLL = 1.0
"""Seconds between looks at the pool while it has no free slot (e.g. Ray is unreachable)."""


@dataclass
class Active:
    """A job a worker has."""

    record: JobRecord
    control: JobControl
    done: asyncio.Future[None]
    interrupted: bool = False
    """Stopped by ``stop()``: it goes back to the queue instead of being cancelled."""


class Dispatcher:
    """The loop that feeds the worker pool, for ``JobService``."""

    def __init__(
        self,
        settings: Settings,
        store: JobStore,
        scheduler: FairScheduler,
        pool: WorkerPool,
        images: ImageStore,
        *,
        database: DatabaseThreads,
        events: JobEvents,
        order: asyncio.Lock,
    ) -> None:
        """``order`` is the service's lock held while a job is queued or started and its event
        published, so a job's ``queued`` event always comes before its ``started`` one."""
        self.settings = settings
        self.store = store
        self.scheduler = scheduler
        self.pool = pool
        self.images = images
        self._db = database.run
        self._order = order
        self.events = events
        self.active: dict[str, Active] = {}
        self.paused = False
        self._stopping = False
        self._in_flight = 0
        """Batches the pool is running now (each takes one slot)."""
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="imagine-dispatch")
        self.wake()

    def wake(self) -> None:
        self._wake.set()

    async def stop(self, timeout: float) -> None:
        """Start nothing more; running jobs are interrupted and go back to the queue."""
        self._stopping = True
        self.wake()
        for active in self.active.values():
            active.interrupted = True
            active.control.cancel()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout)
            except TimeoutError:
                log.warning("the job dispatcher did not stop within %s s", timeout)

    async def _run(self) -> None:
        while not self._stopping:
            # A full pool is polled: its capacity can grow without anyone waking us.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), None if self._has_slot() else IDLE_POLL)
            self._wake.clear()
            try:
                while not self.paused and not self._stopping and self._has_slot():
                    async with self._order:
                        records = await self._db(
                            self.store.start_batch, self.scheduler, self.pool.max_batch
                        )
                        if not records:
                            break
                        if self._stopping:
                            for record in records:
                                await self._db(self.store.requeue, record.id)
                            break
                        actives = [self._activate(record) for record in records]
                    await self._launch(actives)
            except Exception:
                log.exception("the job dispatcher failed; retrying in a second")
                await asyncio.sleep(1)
                self.wake()

    async def positions(self) -> dict[str, int]:
        """Each waiting job's place in the queue (1 starts next), as the scheduler orders it."""
        waiting = await self._db(self.store.waiting)
        return {entry.job_id: n for n, entry in enumerate(self.scheduler.order(waiting), 1)}

    def _has_slot(self) -> bool:
        return self._in_flight < self.pool.capacity

    def _activate(self, record: JobRecord) -> Active:
        loop = asyncio.get_running_loop()
        report = self._progress_reporter(record)
        control = JobControl(
            report, on_preview=report, preview_every=self.settings.engine.preview_every
        )
        active = Active(record, control, loop.create_future())
        self.active[record.id] = active
        self.events.publish(StartedEvent(record))
        return active

    async def _launch(self, actives: Sequence[Active]) -> None:
        """Hand one batch to the pool; each job ends in its own task, and the batch's slot is
        free again when all of them have."""
        try:
            work = [
                Work(
                    active.record.id,
                    active.record.spec,
                    active.control,
                    await self._inputs(active.record),
                )
                for active in actives
            ]
            futures = self.pool.run(work)
        except Exception as exc:
            failed: Future[WorkOutput] = Future()
            failed.set_exception(exc)
            futures = [failed] * len(actives)
        self._in_flight += 1
        left = len(actives)

        async def finish(active: Active, future: Future[WorkOutput]) -> None:
            nonlocal left
            try:
                outcome: WorkOutput | BaseException = await asyncio.wrap_future(future)
            except BaseException as exc:  # JobCancelled, WorkerLost or the job's own error
                outcome = exc
            try:
                await self._finish(active, outcome)
            finally:
                left -= 1
                if not left:
                    self._in_flight -= 1
                    self.wake()

        for active, future in zip(actives, futures, strict=True):
            self.events.track(asyncio.ensure_future(finish(active, future)))

    async def _inputs(self, record: JobRecord) -> dict[str, bytes]:
        shas = input_shas(record.spec)
        if not shas:
            return {}
        try:
            return dict(zip(shas, await asyncio.gather(*map(self._read, shas)), strict=True))
        except FileNotFoundError as exc:
            raise UserError(
                "An image this job starts from is no longer in the bot's image store."
            ) from exc

    async def _read(self, sha: str) -> bytes:
        return await asyncio.to_thread(self.images.read, sha)

    async def _finish(self, active: Active, outcome: WorkOutput | BaseException) -> None:
        job_id = active.record.id
        event: JobEvent | None
        try:
            if isinstance(outcome, WorkOutput):
                images, grid = await asyncio.to_thread(self._store_images, outcome)
                record = await self._db(
                    self.store.finish_success,
                    job_id,
                    outcome.gpu_seconds,
                    images,
                    grid,
                    outcome.warnings,
                    outcome.flagged,
                    outcome.texts,
                )
                event = SucceededEvent(record)
            elif isinstance(outcome, JobCancelled | WorkerLost) and active.interrupted:
                await self._db(self.store.requeue, job_id)
                event = None
            elif isinstance(outcome, JobCancelled):
                record = await self._db(
                    self.store.finish_unsuccessful,
                    job_id,
                    JobState.CANCELLED,
                    "Cancelled.",
                    active.control.seconds_if_cancelled(),
                )
                event = CancelledEvent(record)
            elif isinstance(outcome, WorkerLost):
                log.warning(
                    "job %s lost its worker (%s); it goes back to the queue", job_id, outcome
                )
                record = await self._db(self.store.retry, job_id)
                event = (
                    FailedEvent(record, RETRY_LIMIT) if record.state == JobState.FAILED else None
                )
                if event is None:
                    async with self._order:
                        position = (await self.positions()).get(job_id, 0)
                        self.events.publish(QueuedEvent(record, position))
            else:
                record = await self._db(
                    self.store.finish_unsuccessful, job_id, JobState.FAILED, plain(outcome)
                )
                event = FailedEvent(record, type(outcome).__name__)
        except Exception as exc:
            log.exception("could not record the end of job %s", job_id)
            record = await self._db(
                self.store.finish_unsuccessful, job_id, JobState.FAILED, plain(exc)
            )
            event = FailedEvent(record, type(exc).__name__)
        finally:
            self.active.pop(job_id, None)
            if not active.done.done():
                active.done.set_result(None)
            self.wake()
        if event is not None:
            self.events.publish(event)

    def _store_images(self, output: WorkOutput) -> tuple[list[StoredImage], StoredImage | None]:
        images = [
            self.images.put_png(image.png, image.width, image.height) for image in output.images
        ]
        grid = output.grid
        return images, None if grid is None else self.images.put_png(
            grid.png, grid.width, grid.height
        )

    def _progress_reporter(self, record: JobRecord) -> Callable[..., None]:
        def report(done: int, total: int, preview: Image.Image | None = None) -> None:
            # On a worker's thread: hand the event to the loop and return at once.
            with contextlib.suppress(RuntimeError):  # the loop has closed
                self.events.publish(ProgressEvent(record, done, total, preview))

        return report


def plain(error: BaseException) -> str:
    """What the member reads when their job fails; details go to the log."""
    if isinstance(error, ModelUnavailable):
        log.error("a job failed: %s", error.details)
    if isinstance(error, UserError):
        return str(error)
    log.error("a job failed", exc_info=error)
    return (
        f"Something went wrong while making the images ({type(error).__name__}). "
        "Your GPU time was refunded."
    )
