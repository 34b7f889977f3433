"""Ray workers on a local Ray instance this module starts (``ray.init(num_cpus=...)``): two
CPU actors with the tiny model, streaming progress, remote cancel, and an actor killed
mid-job."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from PIL import Image

from imagine_bot.config import Settings
from imagine_bot.engine.jobs.describing import describe_spec
from imagine_bot.engine.jobs.records import FailedEvent, ProgressEvent, QueuedEvent, SucceededEvent
from imagine_bot.engine.spec import JobState
from imagine_bot.workers.ray import RayWorkerPool
from tests.support.jobkit import make_spec, tuned, until
from tests.support.tiny_describe import tiny_describe_models
from tests.support.workerkit import ALICE, Bench, two_members_at_once_then_cancel

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow  # a Ray instance and two actor processes cost seconds

RAY_WORKERS = {"backend": "ray", "count": 2, "gpus_per_worker": 0.0, "max_restarts": 2}


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def pool(
    settings: Settings, cluster: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RayWorkerPool]:
    # "broken": a preset whose folder holds no model, to fail on the worker.
    broken = settings.models["tiny"].model_copy(
        update={"source": str(tmp_path_factory.mktemp("srv-broken-weights"))}
    )
    with_broken = settings.model_copy(update={"models": {**settings.models, "broken": broken}})
    caption, rank = tiny_describe_models(settings.paths.models)
    describe = {"caption_model": str(caption), "ranking_model": str(rank), "max_words": 6}
    workers = RayWorkerPool(tuned(with_broken, workers=RAY_WORKERS, describe=describe))
    workers.start()
    yield workers
    workers.close()


@pytest.fixture
async def bench(settings: Settings, pool: RayWorkerPool, tmp_path: Path) -> AsyncIterator[Bench]:
    await until(lambda: pool.capacity == 2, timeout=240)
    for name in ("worker-0", "worker-1"):  # both models resident before the clock matters
        ray.get(pool.actor(name).warm_up.remote("tiny"))
    bench = Bench(settings, pool, tmp_path)
    await bench.service.start()
    yield bench
    await bench.service.stop()


async def test_two_members_run_at_once_on_two_actors_and_cancel_reaches_one(
    bench: Bench,
) -> None:
    await two_members_at_once_then_cancel(bench)


async def test_a_killed_actor_requeues_its_job_which_completes_once_on_the_other(
    bench: Bench, pool: RayWorkerPool, caplog: pytest.LogCaptureFixture
) -> None:
    job = await bench.submit(ALICE, 3, steps=40)
    await bench.wait(ProgressEvent, job.id)
    killed = pool.worker_of(job.id)
    assert killed is not None
    ray.kill(pool.actor(killed), no_restart=False)
    await bench.wait(QueuedEvent, job.id, count=2)
    await until(lambda: pool.worker_of(job.id) is not None or bench.seen(SucceededEvent, job.id))
    rerun_on = pool.worker_of(job.id)
    await bench.wait(SucceededEvent, job.id)
    done = await bench.service.job(job.id)
    assert done is not None and done.state == JobState.SUCCEEDED and done.attempts == 2
    assert rerun_on in (None, "worker-0", "worker-1") and rerun_on != killed
    assert len(bench.seen(SucceededEvent, job.id)) == 1 and bench.charges(job.id) == 1
    assert f"GPU worker {killed} died mid-job" in caplog.text
    await until(lambda: pool.capacity == 2, timeout=240)  # Ray restarted it
    assert f"GPU worker {killed} is back" in caplog.text


async def test_a_model_that_fails_to_load_on_an_actor_reaches_the_member_as_one_sentence(
    bench: Bench,
) -> None:
    (job,) = await bench.service.submit(ALICE, [make_spec(1, model="broken")])
    await bench.wait(FailedEvent, job.id)
    (failed,) = bench.seen(FailedEvent, job.id)
    assert failed.cause == "ModelUnavailable"  # not RaySystemError: the error survived pickle
    assert failed.error.startswith("The model 'broken' could not be loaded on this server")
    assert len(failed.error) < 200 and "srv-broken-weights" not in failed.error


async def test_describe_runs_on_an_actor_like_any_job(bench: Bench) -> None:
    image = bench.images.put(Image.new("RGB", (96, 64), (20, 120, 200)))
    (job,) = await bench.service.submit(ALICE, [describe_spec(image, "view.png")])
    done = await bench.service.finished(job.id)
    assert done.state == JobState.SUCCEEDED and done.image_shas == ()
    assert len(done.texts) == 4 and all(text.endswith(" --ar 3:2") for text in done.texts)
