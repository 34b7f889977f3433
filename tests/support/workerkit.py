"""A job service over a real worker pool (local threads or Ray actors) on the tiny model, and
the scenarios the local and Ray tests share."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from sqlmodel import col, select

from imagine_bot.config import Settings
from imagine_bot.engine.images.store import ImageStore
from imagine_bot.engine.jobs.pool import WorkerPool
from imagine_bot.engine.jobs.records import (
    CancelledEvent,
    JobEvent,
    JobRecord,
    ProgressEvent,
    Requester,
    SucceededEvent,
)
from imagine_bot.engine.jobs.service import JobService
from imagine_bot.engine.jobs.storage import Database
from imagine_bot.engine.jobs.storage.tables import LedgerRow
from imagine_bot.engine.spec import JobState
from tests.support.jobkit import make_spec, until

ALICE, BOB = Requester(1), Requester(2)
E = TypeVar("E", bound=JobEvent)
LONG = 990
"""Steps of a job still running when the test is done with it (under the tiny model's 1000
training steps, which schedulers cap at)."""


class Bench:
    """A job service on a temporary database over ``pool``, and the events it sent."""

    def __init__(self, settings: Settings, pool: WorkerPool, path: Path) -> None:
        self.database = Database(f"sqlite:///{path / 'jobs.db'}")
        self.images = ImageStore(path / "images")
        self.service = JobService(settings, self.database, self.images, pool)
        self.events: list[JobEvent] = []
        self.service.subscribe(self.events.append)

    def seen(self, kind: type[E], job_id: str) -> list[E]:
        return [e for e in self.events if isinstance(e, kind) and e.job.id == job_id]

    async def wait(self, kind: type[JobEvent], *job_ids: str, count: int = 1) -> None:
        await until(lambda: all(len(self.seen(kind, j)) >= count for j in job_ids), 240)

    async def submit(self, who: Requester, seed: int, steps: int = 3) -> JobRecord:
        (record,) = await self.service.submit(who, [make_spec(seed, steps=steps)])
        return record

    def charges(self, job_id: str) -> int:
        with self.database.read() as session:
            rows = session.exec(
                select(LedgerRow).where(
                    col(LedgerRow.job_id) == job_id, col(LedgerRow.kind) == "charge"
                )
            ).all()
        return len(rows)


async def two_members_at_once_then_cancel(bench: Bench) -> None:
    """Bob's job runs and finishes while Alice's long one runs: two workers at the same time.
    Then cancelling Alice's job stops it on its worker."""
    long = await bench.submit(ALICE, 1, steps=LONG)
    await bench.wait(ProgressEvent, long.id)
    quick = await bench.submit(BOB, 7)
    await bench.wait(SucceededEvent, quick.id)
    assert (await bench.service.job(long.id)).state == JobState.RUNNING  # type: ignore[union-attr]
    done = await bench.service.job(quick.id)
    assert done is not None and len(done.image_shas) == 4 and done.grid_path is not None
    assert done.grid_path.is_file()
    steps = [event.done for event in bench.seen(ProgressEvent, quick.id)]
    assert steps == [1, 2, 3]
    assert any(event.preview is not None for event in bench.seen(ProgressEvent, long.id))
    cancelled = await bench.service.cancel(long.id, ALICE.user_id)
    assert cancelled.state == JobState.CANCELLED and bench.seen(CancelledEvent, long.id)
    assert len(bench.seen(ProgressEvent, long.id)) < LONG
    # Cancelled after its previews were shown: the time it ran is charged, once.
    assert bench.charges(long.id) == 1 and bench.charges(quick.id) == 1
