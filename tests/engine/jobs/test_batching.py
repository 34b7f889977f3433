"""Which queued jobs start together (``JobStore.start_batch``) and what a lost worker's job
becomes (``JobStore.retry``), on the store alone."""

from __future__ import annotations

from pathlib import Path

from imagine_bot.config import Settings
from imagine_bot.engine.jobs.records import Requester
from imagine_bot.engine.jobs.scheduler import FairScheduler
from imagine_bot.engine.spec import JobState
from tests.support.jobkit import make_spec, open_store, tuned

ALICE, BOB, CAROL = Requester(1), Requester(2), Requester(3)


def test_a_batch_takes_the_next_jobs_in_fair_order_while_they_fit(
    settings: Settings, tmp_path: Path
) -> None:
    store = open_store(settings, tmp_path)
    a1, a2 = store.submit(ALICE, [make_spec(1), make_spec(2)])[0]
    (b1,) = store.submit(BOB, [make_spec(3)])[0]
    (c1,) = store.submit(CAROL, [make_spec(4)])[0]
    scheduler = FairScheduler(3)
    first = store.start_batch(scheduler, max_images=12)
    assert [job.id for job in first] == [a1.id, b1.id, c1.id]  # turns, then the image cap
    assert all(job.state == JobState.RUNNING for job in first)
    assert [job.id for job in store.start_batch(scheduler, max_images=12)] == [a2.id]
    assert store.start_batch(scheduler, max_images=12) == []


def test_a_batch_stops_at_the_first_job_that_cannot_join_it(
    settings: Settings, tmp_path: Path
) -> None:
    store = open_store(settings, tmp_path)
    (a1,) = store.submit(ALICE, [make_spec(1)])[0]
    (b1,) = store.submit(BOB, [make_spec(2, steps=3)])[0]  # other steps: never merged
    (c1,) = store.submit(CAROL, [make_spec(3)])[0]  # compatible with a1, but behind b1
    scheduler = FairScheduler(3)
    assert [job.id for job in store.start_batch(scheduler, max_images=16)] == [a1.id]
    assert [job.id for job in store.start_batch(scheduler, max_images=16)] == [b1.id]
    assert [job.id for job in store.start_batch(scheduler, max_images=16)] == [c1.id]


def test_a_batch_respects_each_members_running_cap(settings: Settings, tmp_path: Path) -> None:
    store = open_store(settings, tmp_path)
    jobs = store.submit(ALICE, [make_spec(seed) for seed in range(3)])[0]
    started = store.start_batch(FairScheduler(2), max_images=16)
    assert [job.id for job in started] == [job.id for job in jobs[:2]]
    assert store.start_batch(FairScheduler(2), max_images=16) == []


def test_a_job_whose_worker_died_is_queued_again_until_the_retry_limit(
    settings: Settings, tmp_path: Path
) -> None:
    store = open_store(tuned(settings, queue={"retry_limit": 1}), tmp_path)
    (job,) = store.submit(ALICE, [make_spec(1)])[0]
    scheduler = FairScheduler(3)
    store.start_batch(scheduler, max_images=4)
    again = store.retry(job.id)
    assert (again.state, again.attempts) == (JobState.QUEUED, 1)
    store.start_batch(scheduler, max_images=4)
    failed = store.retry(job.id)
    assert failed.state == JobState.FAILED and "stopped 2 times" in (failed.error or "")
    assert store.ledger.quota_status(ALICE.user_id).held == 0
