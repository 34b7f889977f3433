"""/healthz and /metrics on the web server of a real app (tiny model, SQLite on disk)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.exc import OperationalError

from imagine_bot.app import ImagineApp
from imagine_bot.config import load_settings
from imagine_bot.engine.jobs import listings
from imagine_bot.engine.jobs.records import FailedEvent, Requester, SucceededEvent
from imagine_bot.engine.spec import JobState
from tests.support.jobkit import make_spec, until
from tests.support.ops_server import ops_server

JOB_SECONDS = 120.0


async def serve(tmp_path: Path, env: dict[str, str]) -> AsyncIterator[tuple[ImagineApp, str]]:
    settings = load_settings(env={**env, "IMAGINE_PATHS__DATA_DIR": str(tmp_path)})
    async with ops_server(settings) as served:
        yield served


@pytest.fixture
async def warm(tmp_path: Path, test_env: dict[str, str]) -> AsyncIterator[tuple[ImagineApp, str]]:
    """Started as `imagine-bot run` starts it: the default model warms up in the background."""
    async for served in serve(tmp_path, test_env):
        yield served


@pytest.fixture
async def cold(tmp_path: Path, test_env: dict[str, str]) -> AsyncIterator[tuple[ImagineApp, str]]:
    """No warm-up: the default model loads with the first job."""
    async for served in serve(tmp_path, {**test_env, "IMAGINE_ENGINE__WARM_UP": "false"}):
        yield served


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


async def eventually_healthy(app: ImagineApp, base_url: str) -> str:
    await until(
        lambda: all(worker.model_loaded for worker in app.worker_health()), timeout=JOB_SECONDS
    )
    status, text = await get(f"{base_url}/healthz")
    assert status == 200, text
    return text


async def test_healthz_is_200_once_the_default_model_is_loaded(
    warm: tuple[ImagineApp, str],
) -> None:
    app, base_url = warm
    assert await eventually_healthy(app, base_url) == "ok\n"


async def test_without_warm_up_healthz_is_200_once_the_worker_runs(
    cold: tuple[ImagineApp, str],
) -> None:
    # The default model loads with the first job: waiting for it would be 503 for ever.
    app, base_url = cold
    assert not any(worker.model_loaded for worker in app.worker_health())
    status, text = await get(f"{base_url}/healthz")
    assert (status, text) == (200, "ok\n")


async def test_healthz_and_metrics_follow_the_discord_gateway(
    tmp_path: Path, test_env: dict[str, str]
) -> None:
    connected = [True]
    env = {**test_env, "IMAGINE_PATHS__DATA_DIR": str(tmp_path), "IMAGINE_ENGINE__WARM_UP": "false"}
    settings = load_settings(env=env)
    async with ops_server(settings, gateway_connected=lambda: connected[0]) as (_, base_url):
        assert await get(f"{base_url}/healthz") == (200, "ok\n")
        assert (
            samples((await get(f"{base_url}/metrics"))[1])[("imagine_discord_connected", ())] == 1
        )
        connected[0] = False  # Discord unreachable: discord.py is reconnecting
        status, text = await get(f"{base_url}/healthz")
        assert (status, text) == (503, "the bot is not connected to Discord's gateway\n")
        assert (
            samples((await get(f"{base_url}/metrics"))[1])[("imagine_discord_connected", ())] == 0
        )


async def test_healthz_is_503_when_the_worker_is_gone(warm: tuple[ImagineApp, str]) -> None:
    app, base_url = warm
    await eventually_healthy(app, base_url)
    app.workers.close()
    status, text = await get(f"{base_url}/healthz")
    assert status == 503 and "is not running" in text


async def test_healthz_is_503_when_the_database_does_not_answer(
    warm: tuple[ImagineApp, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, base_url = warm
    await eventually_healthy(app, base_url)

    def locked(database: object) -> dict[tuple[str, str], int]:
        raise OperationalError("SELECT", {}, Exception("database is locked"))

    monkeypatch.setattr(listings, "counts", locked)
    status, text = await get(f"{base_url}/healthz")
    assert status == 503
    assert text == "the database does not answer (OperationalError)\n"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def gauge(base_url: str, name: str) -> float:
    return samples((await get(f"{base_url}/metrics"))[1])[(name, ())]


async def test_metrics_show_a_finished_job_and_a_failed_one(
    cold: tuple[ImagineApp, str],
) -> None:
    app, base_url = cold
    ended: dict[str, JobState] = {}
    app.service.subscribe(
        lambda event: (
            ended.update({event.job.id: event.job.state})
            if isinstance(event, SucceededEvent | FailedEvent)
            else None
        )
    )
    requester = Requester(7)
    (good,) = await app.service.submit(requester, [make_spec(size=64)])
    # No such preset: the worker raises KeyError, a failure with a cause.
    (bad,) = await app.service.submit(requester, [make_spec(2, size=64, model="missing")])
    await until(lambda: len(ended) == 2, timeout=JOB_SECONDS)
    assert ended == {good.id: JobState.SUCCEEDED, bad.id: JobState.FAILED}

    status, text = await get(f"{base_url}/metrics")
    assert status == 200
    found = samples(text)
    assert found[("imagine_jobs", (("lane", "fast"), ("state", "succeeded")))] == 1
    assert found[("imagine_jobs", (("lane", "fast"), ("state", "failed")))] == 1
    assert found[("imagine_queue_length", ())] == 0
    assert found[("imagine_queue_wait_seconds_count", (("lane", "fast"),))] == 2
    assert found[("imagine_gpu_seconds_total", (("model", "tiny"),))] > 0
    duration = ("imagine_job_duration_seconds_count", (("action", "imagine"), ("model", "tiny")))
    assert found[duration] == 1
    assert found[("imagine_job_failures_total", (("cause", "KeyError"),))] == 1
    assert found[("imagine_workers", ())] == 1
    assert found[("imagine_workers_ready", ())] == 1
