"""The Ray side without a Ray instance: a cluster that cannot be reached (the bot keeps
working, says so, retries, and jobs wait in the queue) and an actor that cannot start (it
fails each job with the reason instead of hanging the queue)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from imagine_bot.config import Settings
from imagine_bot.engine.errors import UserError
from imagine_bot.engine.spec import JobState
from imagine_bot.workers.ray import GpuWorker, RayWorkerPool
from tests.support.jobkit import make_spec, tuned, until
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


def test_a_worker_that_cannot_start_fails_each_job_in_a_sentence_and_logs_the_reason(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        worker = GpuWorker(tuned(settings, engine={"device": "no-such-device"}), "worker-0")
    assert worker.ready() is False
    events = list(worker.run([("job-1", make_spec(1), {}, 4), ("job-2", make_spec(2), {}, 4)]))
    assert [event[:2] for event in events] == [("failed", 0), ("failed", 1)]
    error = events[0][2]
    assert isinstance(error, UserError) and str(error).startswith("A GPU worker could not start")
    assert "no-such-device" not in str(error) and len(str(error)) < 200
    assert "no-such-device" in caplog.text
