"""The Ray pool while its cluster cannot be reached: the bot keeps working, says so, retries,
and jobs wait in the queue (no Ray instance needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagine_bot.config import Settings
from imagine_bot.engine.spec import JobState
from imagine_bot.workers.ray import RayWorkerPool
from tests.support.jobkit import tuned, until
from tests.support.workerkit import ALICE, Bench


async def test_an_unreachable_cluster_is_retried_while_jobs_wait(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    attempts: list[int] = []

    def refuse() -> None:
        attempts.append(1)
        raise ConnectionError("could not reach 10.0.0.9:6379")

    ray_settings = tuned(
        settings, workers={"backend": "ray", "address": "10.0.0.9:6379", "reconnect_every": 0.01}
    )
    pool = RayWorkerPool(ray_settings, connect=refuse)
    bench = Bench(ray_settings, pool, tmp_path)
    await bench.service.start()
    try:
        pool.start()
        await until(lambda: len(attempts) >= 3)
        job = await bench.submit(ALICE, 1)
        await until(lambda: len(attempts) >= 6)
        assert pool.capacity == 0
        assert (await bench.service.job(job.id)).state == JobState.QUEUED  # type: ignore[union-attr]
    finally:
        await bench.service.stop()
        pool.close()
    assert "the Ray cluster at 10.0.0.9:6379 is unreachable" in caplog.text
    assert "jobs wait in the queue" in caplog.text
