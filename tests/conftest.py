"""Shared fixtures: settings on temporary folders and the tiny model, built once per run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import pluggy
import pytest

from imagine_bot.config import Settings, load_settings
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.plugins.planner import JobPlanner
from imagine_bot.plugins.runner import JobRunner

# CI must not fail by chance: there, property tests replay the same examples every run.
hypothesis.settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    hypothesis.settings.load_profile("ci")

# Small enough that a tiny-model grid takes a fraction of a second on a 2-core CPU.
TEST_ENV = {
    "IMAGINE_MODELS__TINY__RESOLUTION": "128",
    "IMAGINE_MODELS__TINY__STEPS": "4",
    "IMAGINE_MODELS__TINY__DRAFT_RESOLUTION": "64",
    "IMAGINE_MODELS__TINY__DRAFT_STEPS": "2",
    # Any free port: tests run side by side, each bot with its own web server.
    "IMAGINE_WEB__LISTEN": "127.0.0.1:0",
}


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data folder per test run, so the tiny model is built only once."""
    return tmp_path_factory.mktemp("imagine-data")


@pytest.fixture(scope="session")
def test_env(data_dir: Path) -> dict[str, str]:
    return {**TEST_ENV, "IMAGINE_PATHS__DATA_DIR": str(data_dir)}


@pytest.fixture
def test_env_exported(test_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """``test_env`` in this process's environment, for code that reads it (the CLI's main)."""
    for key, value in test_env.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="session")
def settings(test_env: dict[str, str]) -> Settings:
    return load_settings(env=test_env)


@pytest.fixture
def manager(settings: Settings) -> pluggy.PluginManager:
    return build_plugin_manager(settings)


@pytest.fixture
def planner(settings: Settings, manager: pluggy.PluginManager) -> JobPlanner:
    return JobPlanner(settings, manager)


@pytest.fixture(scope="session")
def runner(settings: Settings) -> Iterator[JobRunner]:
    """A runner over the built-in plugins with the tiny model resident, shared by the run."""
    job_runner = JobRunner(build_plugin_manager(settings), ModelRegistry(settings))
    yield job_runner
    job_runner.close()
