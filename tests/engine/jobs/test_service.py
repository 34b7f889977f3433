"""The job service with a fake GPU worker: the queue, events, caps, idempotency, cancel,
fairness, delivery, restarts. ``test_service_e2e.py`` runs the real pipeline."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from imagine_bot.config import Settings
from imagine_bot.engine.errors import QueueFull, UserError
from imagine_bot.engine.images.store import ImageStore
from imagine_bot.engine.jobs.records import (
    CancelledEvent,
    FailedEvent,
    JobEvent,
    Parent,
    ProgressEvent,
    QueuedEvent,
    Requester,
    StartedEvent,
    SucceededEvent,
)
from imagine_bot.engine.jobs.scheduler import FairScheduler
from imagine_bot.engine.jobs.service import JobService
from imagine_bot.engine.jobs.storage import Database
from imagine_bot.engine.spec import JobState
from tests.support.jobkit import (
    Clock,
    FakeRunner,
    make_spec,
    open_store,
    quota_settings,
    tuned,
    until,
)

ALICE, BOB, CAROL = Requester(1), Requester(2), Requester(3)
E = TypeVar("E", bound=JobEvent)


class Harness:
    """A started service on a temporary database, the fake worker and the events seen."""

    def __init__(self, settings: Settings, path: Path) -> None:
        self.settings = settings
        self.path = path
        self.clock = Clock()
        self.runner = FakeRunner()
        self.events: list[JobEvent] = []
        self.service = self.make_service()

    def make_service(self) -> JobService:
        database = Database(f"sqlite:///{self.path / 'jobs.db'}")
        service = JobService(
            self.settings,
            database,
            ImageStore(self.path / "images"),
            self.runner,
            clock=self.clock,
        )
        service.subscribe(self.events.append)
        return service

    def of(self, kind: type[E], job_id: str | None = None) -> list[E]:
        return [
            event
            for event in self.events
            if isinstance(event, kind) and (job_id is None or event.job.id == job_id)
        ]

    async def until(self, condition: Callable[[], object], timeout: float = 20.0) -> None:
        await until(condition, timeout)

    async def finished(self, *job_ids: str) -> None:
        done = (SucceededEvent, FailedEvent, CancelledEvent)
        await self.until(
            lambda: all(any(isinstance(e, done) for e in self.of(JobEvent, i)) for i in job_ids)
        )


@pytest.fixture
def service_settings(settings: Settings) -> Settings:
    return quota_settings(settings, budget=100.0, estimate=2.0)


@pytest.fixture
async def harness(service_settings: Settings, tmp_path: Path) -> AsyncIterator[Harness]:
    harness = Harness(service_settings, tmp_path)
    await harness.service.start()
    yield harness
    await harness.service.stop()
    harness.runner.close()


async def test_the_row_is_written_before_submit_returns(harness: Harness) -> None:
    with harness.runner.hold():
        records = await harness.service.submit(ALICE, [make_spec(1), make_spec(2)])
        # Another connection (another process, after a crash) sees both jobs at once.
        other = open_store(harness.settings, harness.path)
        stored = [other.job(record.id) for record in records]
        assert [job.state if job else None for job in stored] != [None, None]
        assert stored[1] is not None and stored[1].state == JobState.QUEUED
        assert all(job is not None and job.reserved_seconds == 2.0 for job in stored)
        assert other.ledger.quota_status(ALICE.user_id).held == 4.0
    await harness.finished(*(record.id for record in records))


async def test_a_job_runs_stores_its_images_and_is_charged(harness: Harness) -> None:
    (record,) = await harness.service.submit(ALICE, [make_spec(7)], interaction_id=99)
    assert record.state == JobState.QUEUED and record.lane == "fast"
    await harness.finished(record.id)
    (event,) = harness.of(SucceededEvent)
    done = event.job
    assert done.state == JobState.SUCCEEDED and done.attempts == 1
    assert len(done.image_shas) == 4 and len(set(done.image_shas)) == 4
    assert all(path.is_file() for path in done.image_paths)
    assert done.grid_path is not None and done.grid_path.is_file()
    assert done.gpu_seconds == 1.5 and done.charged_seconds == 1.5
    assert done.finished_at is not None and done.started_at is not None
    status = await harness.service.quota_status(ALICE)
    assert (status.used, status.held, status.left) == (1.5, 0.0, 98.5)
    assert await harness.service.job(record.id) == done


async def test_events_arrive_in_order_on_the_event_loop(harness: Harness) -> None:
    threads: set[int] = set()
    harness.service.subscribe(lambda event: threads.add(threading.get_ident()))
    seen_async: list[str] = []

    async def async_listener(event: JobEvent) -> None:
        seen_async.append(type(event).__name__)

    harness.service.subscribe(async_listener)
    (record,) = await harness.service.submit(ALICE, [make_spec(1, steps=3)])
    await harness.finished(record.id)
    await harness.until(lambda: "SucceededEvent" in seen_async)
    kinds = [type(event).__name__ for event in harness.events]
    assert kinds == [
        "QueuedEvent",
        "StartedEvent",
        "ProgressEvent",
        "ProgressEvent",
        "ProgressEvent",
        "SucceededEvent",
    ]
    assert [(e.done, e.total) for e in harness.of(ProgressEvent)] == [(1, 3), (2, 3), (3, 3)]
    assert threads == {threading.get_ident()}
    assert seen_async == kinds


async def test_fairness_one_member_cannot_starve_the_others(
    service_settings: Settings, tmp_path: Path
) -> None:
    settings = tuned(service_settings, queue={"max_waiting_per_user": 40})
    harness = Harness(settings, tmp_path)
    await harness.service.start()
    try:
        with harness.runner.hold():
            a_jobs = await harness.service.submit(ALICE, [make_spec(n) for n in range(30)])
            await harness.until(lambda: harness.of(StartedEvent))
            b_jobs = await harness.service.submit(BOB, [make_spec(100 + n) for n in range(3)])
            c_jobs = await harness.service.submit(CAROL, [make_spec(200 + n) for n in range(3)])
        await harness.finished(*(job.id for job in a_jobs + b_jobs + c_jobs))
    finally:
        await harness.service.stop()
        harness.runner.close()
    order = [
        (type(e).__name__, e.job.id) for e in harness.events if not isinstance(e, ProgressEvent)
    ]
    a_starts = [
        i
        for i, (kind, job) in enumerate(order)
        if kind == "StartedEvent" and job in {j.id for j in a_jobs}
    ]
    a_tenth_start = a_starts[9]
    for job in b_jobs + c_jobs:
        assert order.index(("SucceededEvent", job.id)) < a_tenth_start
    # A's own jobs keep their order
    a_started = [
        job for kind, job in order if kind == "StartedEvent" and job in {j.id for j in a_jobs}
    ]
    assert a_started == [job.id for job in a_jobs]


async def test_a_members_caps_and_the_global_cap_refuse_with_a_reason(
    service_settings: Settings, tmp_path: Path
) -> None:
    settings = tuned(
        service_settings,
        queue={"max_running_per_user": 1, "max_waiting_per_user": 2, "max_waiting_total": 4},
    )
    harness = Harness(settings, tmp_path)
    await harness.service.start()
    try:
        with harness.runner.hold():
            await harness.service.submit(ALICE, [make_spec(1), make_spec(2), make_spec(3)])
            with pytest.raises(QueueFull, match=r"already have 3 jobs queued or running"):
                await harness.service.submit(ALICE, [make_spec(4)])
            with pytest.raises(QueueFull, match=r"makes 4 jobs, but you have room for 3 more"):
                await harness.service.submit(BOB, [make_spec(n) for n in range(4)])
            await harness.service.submit(BOB, [make_spec(5), make_spec(6)])
            # Alice 1 runs; Alice 2-3 and Bob 5-6 wait: the queue (4) is full.
            with pytest.raises(QueueFull, match=r"The queue is full \(4 jobs waiting"):
                await harness.service.submit(CAROL, [make_spec(8)])
            assert len(await harness.service.jobs_of(ALICE.user_id)) == 3
            assert await harness.service.jobs_of(CAROL.user_id) == []
    finally:
        await harness.service.stop()
        harness.runner.close()


async def test_one_job_set_per_interaction_id(harness: Harness) -> None:
    with harness.runner.hold():
        first = await harness.service.submit(ALICE, [make_spec(1), make_spec(2)], interaction_id=5)
        again = await harness.service.submit(ALICE, [make_spec(9)], interaction_id=5)
        assert [job.id for job in again] == [job.id for job in first]
        racing = await asyncio.gather(
            *(harness.service.submit(BOB, [make_spec(3)], interaction_id=6) for _ in range(8))
        )
        assert len({batch[0].id for batch in racing}) == 1
        assert len(harness.of(QueuedEvent)) == 3
        assert (await harness.service.quota_status(ALICE)).held == 4.0
        assert (await harness.service.quota_status(BOB)).held == 2.0


async def test_one_pending_child_per_parent_action_and_index(harness: Harness) -> None:
    (parent,) = await harness.service.submit(ALICE, [make_spec(1)])
    await harness.finished(parent.id)
    with harness.runner.hold():
        clicks = await asyncio.gather(
            *(
                harness.service.submit(ALICE, [make_spec(2)], parent=Parent(parent.id, "vary", 2))
                for _ in range(5)
            )
        )
        child = clicks[0][0]
        assert {batch[0].id for batch in clicks} == {child.id}
        assert (child.parent_id, child.action, child.index) == (parent.id, "vary", 2)
        other = await harness.service.submit(
            ALICE, [make_spec(3)], parent=Parent(parent.id, "vary", 3)
        )
        assert other[0].id != child.id
    await harness.finished(child.id, other[0].id)
    # Once the child has finished, the same button makes a new job.
    (next_child,) = await harness.service.submit(
        ALICE, [make_spec(2)], parent=Parent(parent.id, "vary", 2)
    )
    assert next_child.id != child.id
    with pytest.raises(UserError, match="no longer exists"):
        await harness.service.submit(ALICE, [make_spec(2)], parent=Parent("f" * 32, "vary", 1))
    await harness.finished(next_child.id)


async def test_cancel_a_queued_job_removes_and_refunds_it(harness: Harness) -> None:
    with harness.runner.hold():
        running, queued = await harness.service.submit(ALICE, [make_spec(1), make_spec(2)])
        await harness.until(lambda: harness.of(StartedEvent))
        with pytest.raises(UserError, match="Only the person who started"):
            await harness.service.cancel(queued.id, BOB.user_id)
        cancelled = await harness.service.cancel(queued.id, ALICE.user_id)
        assert cancelled.state == JobState.CANCELLED
        assert (await harness.service.quota_status(ALICE)).held == 2.0
        assert await harness.service.queue_position(queued.id) is None
    await harness.finished(running.id, queued.id)
    assert harness.of(CancelledEvent, queued.id)
    assert not harness.of(StartedEvent, queued.id)
    status = await harness.service.quota_status(ALICE)
    assert (status.used, status.held) == (1.5, 0.0)
    with pytest.raises(UserError, match="already been cancelled"):
        await harness.service.cancel(queued.id, ALICE.user_id)
    with pytest.raises(UserError, match="already finished"):
        await harness.service.cancel(running.id, None)


async def test_cancel_a_running_job_stops_it_and_refunds_it(harness: Harness) -> None:
    with harness.runner.hold():
        (job,) = await harness.service.submit(ALICE, [make_spec(1, steps=50)])
        await harness.until(lambda: harness.of(ProgressEvent, job.id))
        cancelled = await harness.service.cancel(job.id, ALICE.user_id)
    assert cancelled.state == JobState.CANCELLED
    assert len(harness.of(ProgressEvent, job.id)) < 50
    assert harness.of(CancelledEvent, job.id)
    status = await harness.service.quota_status(ALICE)
    assert (status.used, status.held, status.left) == (0.0, 0.0, 100.0)


async def test_cancel_after_a_preview_charges_the_time_used(harness: Harness) -> None:
    harness.runner.previews.add("test 1")
    with harness.runner.hold():
        (job,) = await harness.service.submit(ALICE, [make_spec(1, steps=50)])
        await harness.until(lambda: harness.of(ProgressEvent, job.id))
        cancelled = await harness.service.cancel(job.id, ALICE.user_id)
    assert cancelled.state == JobState.CANCELLED
    assert harness.of(ProgressEvent, job.id)[0].preview is not None
    status = await harness.service.quota_status(ALICE)
    assert status.used > 0 and status.held == 0.0
    assert cancelled.charged_seconds and cancelled.gpu_seconds


async def test_a_failed_job_is_refunded_with_a_plain_message(harness: Harness) -> None:
    harness.runner.fail["test 1"] = RuntimeError("CUDA error: device-side assert")
    harness.runner.fail["test 2"] = UserError("That image cannot be read.")
    first, second = await harness.service.submit(ALICE, [make_spec(1), make_spec(2)])
    await harness.finished(first.id, second.id)
    errors = [event.error for event in harness.of(FailedEvent)]
    assert errors == [
        "Something went wrong while making the images (RuntimeError). Your GPU time was refunded.",
        "That image cannot be read.",
    ]
    status = await harness.service.quota_status(ALICE)
    assert (status.used, status.held, status.left) == (0.0, 0.0, 100.0)


async def test_pause_holds_new_jobs_until_resume(harness: Harness) -> None:
    await harness.service.pause()
    (job,) = await harness.service.submit(ALICE, [make_spec(1)])
    await asyncio.sleep(0.1)
    assert not harness.of(StartedEvent)
    snapshot = await harness.service.queue_snapshot()
    assert snapshot.paused and [record.id for record in snapshot.waiting] == [job.id]
    await harness.service.resume()
    await harness.finished(job.id)


async def test_a_pause_survives_a_restart_until_resume(harness: Harness) -> None:
    await harness.service.pause()
    await harness.service.stop()
    harness.service = harness.make_service()
    await harness.service.start()
    assert harness.service.paused
    (job,) = await harness.service.submit(ALICE, [make_spec(1)])
    await asyncio.sleep(0.1)
    assert not harness.of(StartedEvent)
    await harness.service.resume()
    await harness.finished(job.id)
    await harness.service.stop()
    harness.service = harness.make_service()
    await harness.service.start()
    assert not harness.service.paused


async def test_positions_and_the_snapshot_follow_the_fair_order(harness: Harness) -> None:
    with harness.runner.hold():
        (a1, a2, a3) = await harness.service.submit(ALICE, [make_spec(n) for n in range(3)])
        await harness.until(lambda: harness.of(StartedEvent))
        (b1,) = await harness.service.submit(BOB, [make_spec(10)])
        (r1,) = await harness.service.submit(CAROL, [make_spec(20, lane="relax")])
        (t1,) = await harness.service.submit(CAROL, [make_spec(30, lane="turbo")])
        assert await harness.service.queue_position(a1.id) is None  # running
        positions = [await harness.service.queue_position(job.id) for job in (t1, b1, a2, a3, r1)]
        assert positions == [1, 2, 3, 4, 5]
        snapshot = await harness.service.queue_snapshot()
        assert [job.id for job in snapshot.running] == [a1.id]
        assert [job.id for job in snapshot.waiting] == [t1.id, b1.id, a2.id, a3.id, r1.id]
        (queued_event,) = harness.of(QueuedEvent, t1.id)
        assert queued_event.position == 1
    await harness.finished(a1.id, a2.id, a3.id, b1.id, r1.id, t1.id)
    starts = [event.job.id for event in harness.of(StartedEvent)]
    assert starts == [a1.id, t1.id, b1.id, a2.id, a3.id, r1.id]


async def test_delivery_states(harness: Harness) -> None:
    (job,) = await harness.service.submit(ALICE, [make_spec(1)], channel_id=77)
    await harness.finished(job.id)
    assert [record.id for record in await harness.service.pending_deliveries()] == [job.id]
    record = await harness.service.set_message(job.id, 77, 1234)
    assert (record.channel_id, record.message_id) == (77, 1234)
    undelivered = await harness.service.mark_undelivered(job.id, "Missing Access")
    assert undelivered.state == JobState.UNDELIVERED and undelivered.error == "Missing Access"
    delivered = await harness.service.mark_delivered(job.id)
    assert delivered.state == JobState.DELIVERED and delivered.error is None
    assert await harness.service.pending_deliveries() == []
    assert [r.id for r in await harness.service.jobs_of(ALICE.user_id, [JobState.DELIVERED])] == [
        job.id
    ]


async def test_stop_puts_the_running_job_back_and_start_resumes_it(
    service_settings: Settings, tmp_path: Path
) -> None:
    harness = Harness(service_settings, tmp_path)
    await harness.service.start()
    with harness.runner.hold():
        first, second = await harness.service.submit(ALICE, [make_spec(1, steps=50), make_spec(2)])
        await harness.until(lambda: harness.of(ProgressEvent, first.id))
        await harness.service.stop()
    stopped = open_store(service_settings, tmp_path)
    assert [stopped.job(job.id).state for job in (first, second)] == ["queued", "queued"]  # type: ignore[union-attr]
    assert stopped.job(first.id).attempts == 0  # type: ignore[union-attr]

    harness.service = harness.make_service()
    await harness.service.start()
    try:
        await harness.finished(first.id, second.id)
        done = await harness.service.job(first.id)
        assert done is not None and done.state == JobState.SUCCEEDED and done.attempts == 1
        status = await harness.service.quota_status(ALICE)
        assert (status.used, status.held) == (3.0, 0.0)
    finally:
        await harness.service.stop()
        harness.runner.close()


async def test_after_a_crash_running_jobs_are_retried_up_to_the_limit(
    service_settings: Settings, tmp_path: Path
) -> None:
    settings = tuned(service_settings, queue={"retry_limit": 1})
    store = open_store(settings, tmp_path)
    scheduler = FairScheduler(3)
    # A process took "twice" and died, the next one took it again and died too, with "once".
    (twice,), _ = store.submit(ALICE, [make_spec(2)])
    store.start_next(scheduler)
    store.recover()
    store.start_next(scheduler)
    (once,), _ = store.submit(ALICE, [make_spec(1)])
    store.start_next(scheduler)
    assert [store.job(job.id).attempts for job in (once, twice)] == [1, 2]  # type: ignore[union-attr]
    harness = Harness(settings, tmp_path)
    await harness.service.start()
    try:
        await harness.finished(once.id, twice.id)
        (failed,) = harness.of(FailedEvent)
        assert failed.job.id == twice.id and "stopped 2 times" in (failed.job.error or "")
        (requeued,) = [e for e in harness.of(QueuedEvent)]
        assert requeued.job.id == once.id
        done = await harness.service.job(once.id)
        assert done is not None and done.state == JobState.SUCCEEDED and done.attempts == 2
        status = await harness.service.quota_status(ALICE)
        assert (status.used, status.held, status.left) == (1.5, 0.0, 98.5)
    finally:
        await harness.service.stop()
        harness.runner.close()
