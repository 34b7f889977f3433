"""The dispatcher over a fake worker pool: as many jobs at once as the pool has slots, per-member
caps across workers, and a job whose worker dies re-queued, run again and charged once."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import col, select

from imagine_bot.config import Settings
from imagine_bot.engine.images.store import ImageStore, png_bytes
from imagine_bot.engine.jobs.pool import (
    EncodedImage,
    Work,
    WorkerLost,
    WorkOutput,
    input_shas,
    place_inputs,
)
from imagine_bot.engine.jobs.records import QueuedEvent, Requester, SucceededEvent
from imagine_bot.engine.jobs.service import JobService
from imagine_bot.engine.jobs.storage import Database
from imagine_bot.engine.jobs.storage.tables import LedgerRow
from imagine_bot.engine.spec import SourceImage
from tests.support.jobkit import fake_images, make_spec, quota_settings, tuned, until


class FakePool:
    """``capacity`` slots; each batch waits for ``release`` on its own thread, the first
    ``lose`` batches then die with ``WorkerLost``."""

    def __init__(self, capacity: int, lose: int = 0) -> None:
        self.capacity = capacity
        self.max_batch = 4
        self.lose = lose
        self.release = threading.Event()
        self.batches: list[list[Work]] = []
        self.running: list[Work] = []
        self.most: list[list[int]] = []
        """The owners of the jobs running at once, each time one started."""
        self.owners: dict[int, int] = {}
        """Job owner by the spec's first seed."""
        self._lock = threading.Lock()

    def run(self, batch: Sequence[Work]) -> list[Future[WorkOutput]]:
        futures: list[Future[WorkOutput]] = [Future() for _ in batch]
        with self._lock:
            self.batches.append(list(batch))
            self.running.extend(batch)
            self.most.append(sorted(self.owners.get(w.spec.seeds[0], 0) for w in self.running))
            lost = len(self.batches) <= self.lose
        threading.Thread(target=self._finish, args=(batch, futures, lost), daemon=True).start()
        return futures

    def _finish(self, batch: Sequence[Work], futures: list[Future[WorkOutput]], lost: bool) -> None:
        self.release.wait(30)
        with self._lock:
            for work in batch:
                self.running.remove(work)
        for work, future in zip(batch, futures, strict=True):
            if lost:
                future.set_exception(WorkerLost("worker-0 died"))
                continue
            images = tuple(EncodedImage(png_bytes(i), *i.size) for i in fake_images(work.spec))
            future.set_result(WorkOutput(images, None, 1.5, "worker-1"))

    def close(self) -> None:
        self.release.set()


async def start(settings: Settings, pool: FakePool, path: Path) -> tuple[JobService, list[object]]:
    database = Database(f"sqlite:///{path / 'jobs.db'}")
    service = JobService(settings, database, ImageStore(path / "images"), pool)
    events: list[object] = []
    service.subscribe(events.append)
    await service.start()
    return service, events


async def test_jobs_run_as_many_at_once_as_slots_with_member_caps_across_workers(
    settings: Settings, tmp_path: Path
) -> None:
    pool = FakePool(capacity=3)
    capped = tuned(settings, queue={"max_running_per_user": 1})
    service, events = await start(capped, pool, tmp_path)
    try:
        pool.owners = dict(enumerate([1, 1, 1, 2, 3, 4]))
        jobs = [
            (await service.submit(Requester(owner), [make_spec(seed, steps=3 + seed)]))[0]
            for seed, owner in pool.owners.items()
        ]
        await until(lambda: len(pool.batches) == 3)
        assert sorted(pool.owners[w.spec.seeds[0]] for w in pool.running) == [1, 2, 3]
        pool.release.set()
        await until(lambda: sum(isinstance(e, SucceededEvent) for e in events) == len(jobs))
    finally:
        await service.stop()
    assert all(len(owners) <= 3 and len(set(owners)) == len(owners) for owners in pool.most)


async def test_a_job_whose_worker_died_runs_again_and_is_charged_once(
    settings: Settings, tmp_path: Path
) -> None:
    pool = FakePool(capacity=2, lose=1)
    pool.release.set()
    service, events = await start(quota_settings(settings, estimate=2.0), pool, tmp_path)
    try:
        (job,) = await service.submit(Requester(1), [make_spec(1)])
        await until(lambda: any(isinstance(e, SucceededEvent) for e in events))
        done = await service.job(job.id)
    finally:
        await service.stop()
    assert [[w.job_id for w in batch] for batch in pool.batches] == [[job.id], [job.id]]
    assert sum(isinstance(e, QueuedEvent) for e in events) == 2
    assert done is not None and done.attempts == 2 and done.charged_seconds == 1.5
    with service.database.read() as session:
        kinds = session.exec(select(LedgerRow.kind).where(col(LedgerRow.job_id) == job.id)).all()
    assert sorted(kinds).count("charge") == 1


def test_a_jobs_input_images_travel_by_content(tmp_path: Path) -> None:
    bot, worker = ImageStore(tmp_path / "bot"), ImageStore(tmp_path / "worker")
    source = bot.put(Image.new("RGB", (8, 8), (1, 2, 3)))
    mask = bot.put(Image.new("RGB", (8, 8), (255, 255, 255)))
    spec = make_spec(1).model_copy(
        update={
            "source": SourceImage(sha256=source.sha256),
            "mask": SourceImage(sha256=mask.sha256),
        }
    )
    shas = input_shas(spec)
    assert shas == [source.sha256, mask.sha256]
    place_inputs(worker, {sha: bot.read(sha) for sha in shas})
    assert [worker.read(sha) for sha in shas] == [bot.read(sha) for sha in shas]
    with pytest.raises(ValueError, match="other bytes"):
        place_inputs(worker, {source.sha256: bot.read(mask.sha256)})
