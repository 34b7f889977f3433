"""Local workers: two worker threads (two CPU "devices"), each with its own tiny model."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from imagine_bot.config import Settings
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.workers import build_workers
from imagine_bot.workers.local import LocalWorkerPool
from tests.support.jobkit import tuned
from tests.support.workerkit import Bench, two_members_at_once_then_cancel


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
