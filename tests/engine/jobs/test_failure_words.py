"""What a member reads when their job fails on the server, through the job service and the
real GPU worker: a plain sentence; the file paths and the raw exception go to the log."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from imagine_bot.config import load_settings
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.engine.images.store import ImageStore
from imagine_bot.engine.jobs.records import FailedEvent, JobEvent, Requester
from imagine_bot.engine.jobs.service import JobService
from imagine_bot.engine.jobs.storage import Database
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.plugins.runner import JobRunner
from tests.support.jobkit import make_spec, until


async def test_a_model_that_fails_to_load_fails_the_job_in_plain_words(
    test_env: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    weights = tmp_path / "srv" / "secret-weights"
    weights.mkdir(parents=True)  # a folder without model_index.json
    settings = load_settings(env={**test_env, "IMAGINE_MODELS__TINY__SOURCE": str(weights)})
    runner = JobRunner(build_plugin_manager(settings), ModelRegistry(settings))
    service = JobService(
        settings, Database(f"sqlite:///{tmp_path / 'jobs.db'}"), ImageStore(tmp_path), runner.submit
    )
    events: list[JobEvent] = []
    service.subscribe(events.append)
    await service.start()
    try:
        with caplog.at_level(logging.ERROR):
            (job,) = await service.submit(Requester(1), [make_spec()])
            await until(lambda: any(isinstance(e, FailedEvent) for e in events), timeout=120)
        failed = await service.job(job.id)
    finally:
        await service.stop()
        runner.close()
    assert failed is not None and failed.error is not None
    assert failed.error.startswith("The model 'tiny' could not be loaded on this server")
    assert str(tmp_path) not in failed.error and "model_index" not in failed.error
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert str(weights) in logged and "models.tiny.source" in logged
