"""Local workers: two worker threads (two CPU "devices"), each with its own tiny model."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from imagine_bot.config import ModelPreset, Settings
from imagine_bot.engine.jobs.records import FailedEvent, SucceededEvent
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.workers import build_workers
from imagine_bot.workers.local import LocalWorkerPool
from tests.support.jobkit import make_spec, tuned
from tests.support.workerkit import ALICE, Bench, two_members_at_once_then_cancel


@pytest.fixture(scope="module")
def pool(settings: Settings) -> Iterator[LocalWorkerPool]:
    two = tuned(settings, workers={"devices": ("cpu", "cpu")})
    workers = build_workers(two, build_plugin_manager(two))
    assert isinstance(workers, LocalWorkerPool)
    for runner in workers.runners:  # both models resident before the clock matters
        runner.call(runner.models.warm_up, "tiny").result()
    yield workers
    workers.close()


@pytest.fixture
async def bench(settings: Settings, pool: LocalWorkerPool, tmp_path: Path) -> AsyncIterator[Bench]:
    bench = Bench(settings, pool, tmp_path)
    await bench.service.start()
    yield bench
    await bench.service.stop()


def test_one_worker_per_device_each_with_its_own_models(pool: LocalWorkerPool) -> None:
    assert pool.capacity == 2
    first, second = (runner.models for runner in pool.runners)
    assert first is not second and str(first.device) == str(second.device) == "cpu"


async def test_two_members_run_at_once_on_two_workers_and_cancel_stops_one(bench: Bench) -> None:
    await two_members_at_once_then_cancel(bench)


async def test_a_model_that_cannot_load_fails_its_job_and_the_queue_goes_on(
    settings: Settings, tmp_path: Path
) -> None:
    broken = ModelPreset(source=str(tmp_path / "no-such-model"))
    one = tuned(settings, workers={"devices": ("cpu",)})
    one = one.model_copy(update={"models": {**one.models, "broken": broken}})
    pool = LocalWorkerPool.on_devices(one, build_plugin_manager(one))
    bench = Bench(one, pool, tmp_path)
    await bench.service.start()
    try:
        (bad,) = await bench.service.submit(ALICE, [make_spec(1, model="broken")])
        good = await bench.submit(ALICE, 2)
        await bench.wait(FailedEvent, bad.id)
        await bench.wait(SucceededEvent, good.id)
        failed = await bench.service.job(bad.id)
    finally:
        await bench.service.stop()
        pool.close()
    # The member reads a plain sentence; the server's paths stay in the log.
    assert failed is not None and "could not be loaded" in (failed.error or "")
    assert str(tmp_path) not in (failed.error or "")
