"""The Ray head restarting under the bot: every actor goes with it, the pool notices, says so on
/healthz, joins the new head with back-off and starts new actors, and a job queued meanwhile
runs. The head is a local Ray instance in this process (``ray.init``), shut down and started
again, reached through the pool's ``connect``."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

from imagine_bot.config import Settings
from imagine_bot.engine.jobs.records import SucceededEvent
from imagine_bot.engine.spec import JobState
from imagine_bot.workers.ray import RayWorkerPool
from tests.support.jobkit import tuned, until
from tests.support.workerkit import ALICE, Bench

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow  # two Ray starts and two actor processes cost a minute or more

WORKERS = {
    "backend": "ray",
    "count": 1,
    "gpus_per_worker": 0.0,
    "max_restarts": 0,
    "reconnect_every": 1.0,
}


class Head:
    """The cluster's head as the pool reaches it: while down, joining fails as it would."""

    def __init__(self) -> None:
        self.up = threading.Event()

    def connect(self) -> None:
        if not self.up.is_set():
            raise ConnectionError("the head does not answer")
        if not ray.is_initialized():
            ray.init(num_cpus=1, include_dashboard=False, logging_level=logging.WARNING)

    def stop(self) -> None:
        self.up.clear()
        ray.shutdown()


async def test_after_the_head_restarts_queued_jobs_run_on_new_actors(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    head = Head()
    head.up.set()
    pool = RayWorkerPool(tuned(settings, workers=WORKERS), connect=head.connect)
    pool.start()
    bench = Bench(settings, pool, tmp_path)
    try:
        await until(lambda: pool.capacity == 1, timeout=240)
        await bench.service.start()
        before = await bench.submit(ALICE, 1)
        await bench.wait(SucceededEvent, before.id)

        head.stop()  # every actor goes with the head
        await until(lambda: not pool.connected, timeout=120)
        (health,) = pool.health()
        assert health.problem is not None and "unreachable; reconnecting" in health.problem
        job = await bench.submit(ALICE, 2)  # waits in the queue while the head is down
        await until(lambda: "is unreachable" in caplog.text, timeout=60)

        head.up.set()
        restarted = time.monotonic()
        await bench.wait(SucceededEvent, job.id)
        print(f"Ray head restart -> jobs resume within {time.monotonic() - restarted:.1f} s")
        done = await bench.service.job(job.id)
        assert done is not None and done.state == JobState.SUCCEEDED and done.attempts == 1
        assert "lost the Ray cluster" in caplog.text
        assert pool.connected and pool.health()[0].alive
    finally:
        await bench.service.stop()
        pool.close()
        ray.shutdown()
