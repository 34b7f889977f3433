"""Helpers for the job service tests: specs, settings, a clock and a fake GPU worker."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PIL import Image

from imagine_bot.config import Settings
from imagine_bot.engine.control import JobCancelled, JobControl
from imagine_bot.engine.images.store import ImageStore
from imagine_bot.engine.jobs.records import JobRecord
from imagine_bot.engine.jobs.scheduler import FairScheduler, QueueEntry
from imagine_bot.engine.jobs.storage import Database, upgrade
from imagine_bot.engine.jobs.store import JobStore
from imagine_bot.engine.result import GenerationResult
from imagine_bot.engine.spec import GenerationSpec, Lane, PromptPart


def make_spec(
    seed: int = 1,
    *,
    lane: Lane | str = Lane.FAST,
    steps: int = 2,
    size: int = 64,
    model: str = "tiny",
) -> GenerationSpec:
    return GenerationSpec(
        prompt=f"test {seed}",
        parts=(PromptPart(text=f"test {seed}"),),
        negative_prompt="",
        model=model,
        width=size,
        height=size,
        steps=steps,
        guidance=5.0,
        scheduler="euler_a",
        seeds=(seed, seed + 1, seed + 2, seed + 3),
        lane=Lane(lane),
    )


def tuned(settings: Settings, **sections: dict[str, Any]) -> Settings:
    """``settings`` with some fields of some sections replaced, e.g. queue={"retry_limit": 0}."""
    update = {
        name: getattr(settings, name).model_copy(update=fields) for name, fields in sections.items()
    }
    return settings.model_copy(update=update)


def quota_settings(
    settings: Settings,
    *,
    budget: float = 100.0,
    period: str = "daily",
    relax: bool = True,
    estimate: float = 10.0,
    **quota: Any,
) -> Settings:
    """One tier ("everyone") with ``budget`` GPU-seconds, and a fixed first estimate."""
    tier = settings.quota.tiers["everyone"].model_copy(
        update={"budget": budget, "period": period, "relax": relax}
    )
    return tuned(
        settings,
        quota={
            "tiers": {"everyone": tier},
            "default_tier": "everyone",
            "default_estimate": estimate,
            **quota,
        },
    )


class Clock:
    """A settable clock for periods and resets."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2025, 3, 14, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def open_store(settings: Settings, path: Path, clock: Clock | None = None) -> JobStore:
    database = Database(f"sqlite:///{path / 'jobs.db'}", busy_timeout=30)
    upgrade(database)
    return JobStore(settings, database, ImageStore(path / "images"), clock or Clock())


class _Only(FairScheduler):
    """Picks one given job, whatever would be fair."""

    def __init__(self, job_id: str) -> None:
        super().__init__(max_running_per_user=1_000_000)
        self.job_id = job_id

    def choose(
        self, waiting: Iterable[QueueEntry], running: Mapping[int, int]
    ) -> QueueEntry | None:
        return next((entry for entry in waiting if entry.job_id == self.job_id), None)


def start_job(store: JobStore, job_id: str) -> JobRecord:
    """Move this queued job to running (tests and benchmarks that run jobs by hand)."""
    record = store.start_next(_Only(job_id))
    if record is None:
        raise ValueError(f"job {job_id} is not queued")
    return record


def fake_images(spec: GenerationSpec) -> list[Image.Image]:
    return [Image.new("RGB", (8, 8), (seed % 256, 0, 0)) for seed in spec.seeds]


class FakeRunner:
    """Stands in for ``JobRunner.submit``: one worker thread, images of one colour per seed,
    ``gpu_seconds`` as configured, progress per step and cancellation between steps.

    ``hold()`` blocks every job at its first step until released, so a test can fill the
    queue while the worker is busy. Specs whose prompt is in ``fail`` raise.
    """

    def __init__(self, gpu_seconds: float = 1.5) -> None:
        self.gpu_seconds = gpu_seconds
        self.fail: dict[str, Exception] = {}
        self.previews: set[str] = set()
        """Prompts whose every step comes with a preview."""
        self.started: list[str] = []
        self._open = threading.Event()
        self._open.set()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fake-gpu")

    def __call__(self, spec: GenerationSpec, control: JobControl) -> Future[GenerationResult]:
        return self._worker.submit(self._generate, spec, control)

    @contextmanager
    def hold(self) -> Iterator[None]:
        self._open.clear()
        try:
            yield
        finally:
            self._open.set()

    def close(self) -> None:
        self._open.set()
        self._worker.shutdown(wait=True)

    def _generate(self, spec: GenerationSpec, control: JobControl) -> GenerationResult:
        self.started.append(spec.prompt)
        for step in range(1, spec.steps + 1):
            if spec.prompt in self.previews:
                control.preview(step, spec.steps, Image.new("RGB", (8, 8)))
            else:
                control.report(step, spec.steps)
            while not self._open.wait(0.01):
                if control.cancelled:
                    break
            if control.cancelled:
                raise JobCancelled
        if spec.prompt in self.fail:
            raise self.fail[spec.prompt]
        result = GenerationResult(spec, fake_images(spec))
        result.grid = Image.new("RGB", (16, 16), (spec.seeds[0] % 256, 9, 9))
        result.parameters = [f"{spec.prompt}\nSeed: {seed}" for seed in spec.seeds]
        result.gpu_seconds = self.gpu_seconds
        return result


async def until(condition: Callable[[], object], timeout: float = 30.0) -> None:
    """Wait (on the event loop) until ``condition()`` is true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.005)
