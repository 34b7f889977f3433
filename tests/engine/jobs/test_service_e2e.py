"""The job service on the real GPU worker (``JobRunner`` + the tiny model): a job end to end,
cancelling mid-pipeline, and a worker process killed with SIGKILL in the middle of a job."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import col, select

from imagine_bot.config import Settings
from imagine_bot.engine.control import JobControl
from imagine_bot.engine.gpu.tiny import ensure_tiny_model
from imagine_bot.engine.images.store import ImageStore
from imagine_bot.engine.jobs.records import (
    CancelledEvent,
    JobEvent,
    ProgressEvent,
    Requester,
    SucceededEvent,
)
from imagine_bot.engine.jobs.service import JobService
from imagine_bot.engine.jobs.storage import Database
from imagine_bot.engine.jobs.storage.tables import ImageRow, JobRow, LedgerRow
from imagine_bot.engine.spec import JobState
from imagine_bot.plugins.planner import JobPlanner
from imagine_bot.plugins.runner import JobRunner
from tests.engine.jobs import crash_child
from tests.support.jobkit import until

ROOT = Path(__file__).resolve().parents[3]
ALICE = Requester(1)


class Real:
    def __init__(self, settings: Settings, runner: JobRunner, path: Path) -> None:
        self.path = path
        self.images = ImageStore(path / "images")
        self.database = Database(f"sqlite:///{path / 'jobs.db'}")
        self.events: list[JobEvent] = []
        self.service = JobService(settings, self.database, self.images, runner.submit)
        self.service.subscribe(self.events.append)

    def seen(self, kind: type[JobEvent], job_id: str) -> list[JobEvent]:
        return [e for e in self.events if isinstance(e, kind) and e.job.id == job_id]

    async def wait(self, kind: type[JobEvent], *job_ids: str) -> None:
        await until(lambda: all(self.seen(kind, job_id) for job_id in job_ids), timeout=300)


@pytest.fixture
async def real(settings: Settings, runner: JobRunner, tmp_path: Path) -> AsyncIterator[Real]:
    real = Real(settings, runner, tmp_path)
    await real.service.start()
    yield real
    await real.service.stop()


def pixels(paths: Sequence[Path]) -> list[bytes]:
    decoded = []
    for path in paths:
        with Image.open(path) as image:
            decoded.append(image.convert("RGB").tobytes())
    return decoded


async def test_a_job_end_to_end_on_the_tiny_model(
    real: Real, planner: JobPlanner, runner: JobRunner
) -> None:
    (spec,) = await planner.plan("a lighthouse at dusk --ar 3:2 --seed 5")
    first, second = await real.service.submit(ALICE, [spec, spec], interaction_id=1)
    await real.wait(SucceededEvent, first.id, second.id)
    done, again = await real.service.job(first.id), await real.service.job(second.id)
    assert done is not None and again is not None
    assert done.state == JobState.SUCCEEDED and len(done.image_shas) == 4
    for sha, path in zip(done.image_shas, done.image_paths, strict=True):
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha
    assert done.grid_path is not None and done.grid_path.is_file()
    # Seeds live in the spec: running it again gives the same images, pixel for pixel (not
    # byte for byte: each PNG carries its own signed Content Credentials).
    assert pixels(again.image_paths) == pixels(done.image_paths)
    assert again.grid_path is not None and pixels([again.grid_path]) == pixels([done.grid_path])
    direct = runner.submit(spec, JobControl()).result()
    assert direct.images[2].tobytes() == pixels(done.image_paths)[2]
    assert [e.done for e in real.seen(ProgressEvent, first.id)] == list(range(1, spec.steps + 1))  # type: ignore[attr-defined]
    assert done.gpu_seconds is not None and done.gpu_seconds > 0
    assert done.charged_seconds == round(done.gpu_seconds, 3)
    with real.database.read() as session:
        assert len(session.exec(select(ImageRow)).all()) == 10  # 4 images + grid, each job
    status = await real.service.quota_status(ALICE)
    assert status.used == pytest.approx(done.charged_seconds + (again.charged_seconds or 0))
    assert status.held == 0


async def test_cancel_stops_the_real_pipeline_and_refunds(real: Real, planner: JobPlanner) -> None:
    (spec,) = await planner.plan("a fox --seed 3")
    (job,) = await real.service.submit(ALICE, [spec.model_copy(update={"steps": 500})])
    await real.wait(ProgressEvent, job.id)
    cancelled = await real.service.cancel(job.id, ALICE.user_id)
    assert cancelled.state == JobState.CANCELLED
    assert real.seen(CancelledEvent, job.id)
    assert len(real.seen(ProgressEvent, job.id)) < 500
    status = await real.service.quota_status(ALICE)
    assert (status.used, status.held) == (0.0, 0.0)


async def test_a_worker_killed_mid_job_finishes_it_exactly_once_after_restart(
    settings: Settings,
    test_env: dict[str, str],
    runner: JobRunner,
    tmp_path: Path,
) -> None:
    steps = 24
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    ensure_tiny_model(settings.paths.models)  # built once, before two processes want it
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.engine.jobs.crash_child",
            url,
            str(tmp_path / "images"),
            str(steps),
        ],
        cwd=ROOT,
        env={**os.environ, **test_env},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        word, ids = child.stdout.readline().split(" ", 1)
        assert word == "SUBMITTED"
        slow_id, *quick_ids = json.loads(ids)
        assert child.stdout.readline().strip() == "PROGRESS"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL

    database = Database(url)
    with database.read() as session:
        states = {row.id: row.state for row in session.exec(select(JobRow)).all()}
    assert states == {slow_id: "running", quick_ids[0]: "queued", quick_ids[1]: "queued"}

    restarted = Real(settings, runner, tmp_path)
    await restarted.service.start()
    try:
        await restarted.wait(SucceededEvent, slow_id, *quick_ids)
        slow = await restarted.service.job(slow_id)
        assert slow is not None and slow.attempts == 2 and slow.state == JobState.SUCCEEDED
        assert len(slow.image_shas) == 4 and all(path.is_file() for path in slow.image_paths)
        member = crash_child.MEMBER.user_id
        with restarted.database.read() as session:
            jobs = session.exec(select(JobRow).order_by(col(JobRow.seq))).all()
            ledger = session.exec(select(LedgerRow).where(col(LedgerRow.user_id) == member)).all()
        assert [job.state for job in jobs] == ["succeeded"] * 3
        for job in jobs:
            entries = sorted(entry.kind for entry in ledger if entry.job_id == job.id)
            assert entries == ["charge", "release", "reserve"]
        charges = sum(entry.amount_ms for entry in ledger if entry.kind == "charge")
        assert charges == sum(job.charged_ms or 0 for job in jobs)
        status = await restarted.service.quota_status(crash_child.MEMBER)
        assert status.held == 0
        assert round(status.left * 1000) == round(status.budget * 1000) - charges
    finally:
        await restarted.service.stop()
