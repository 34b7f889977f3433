"""The tiny model with the tiny IP-Adapter, for the image-prompt and profile tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from imagine_bot.config import Settings, load_settings
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.engine.images.store import ImageStore
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.plugins.planner import JobPlanner
from imagine_bot.plugins.runner import JobRunner
from tests.engine.conftest import FetcherFactory
from tests.support.tiny_adapter import adapter_env, tiny_adapter

# smaller and shorter than the other tests' grids: these tests run many
SMALL = {"IMAGINE_MODELS__TINY__RESOLUTION": "64", "IMAGINE_MODELS__TINY__STEPS": "2"}


@pytest.fixture(scope="session")
def adapter_dir(settings: Settings) -> Path:
    return tiny_adapter(settings.paths.models)


@pytest.fixture(scope="session")
def ip_settings(test_env: dict[str, str], adapter_dir: Path) -> Settings:
    return load_settings(env={**test_env, **SMALL, **adapter_env(adapter_dir)})


@pytest.fixture(scope="session")
def ip_runner(ip_settings: Settings) -> Iterator[JobRunner]:
    runner = JobRunner(build_plugin_manager(ip_settings), ModelRegistry(ip_settings))
    yield runner
    runner.close()


@pytest.fixture
def ip_store(ip_settings: Settings) -> ImageStore:
    return ImageStore(ip_settings.paths.store)


@pytest.fixture
def ip_planner(
    ip_settings: Settings, make_fetcher: FetcherFactory, ip_store: ImageStore
) -> JobPlanner:
    return JobPlanner(
        ip_settings, build_plugin_manager(ip_settings), fetcher=make_fetcher(into=ip_store)
    )
