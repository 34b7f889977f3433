"""Batching goes through ``imagine_generate_batch``: asked only of the plugin whose generate
stage runs first, so a plugin that replaces generation without it runs jobs one by one."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from PIL import Image

from imagine_bot import hookimpl
from imagine_bot.config import Settings
from imagine_bot.engine.control import JobControl
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.engine.spec import GenerationSpec
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.plugins.runner import JobRunner
from tests.support.jobkit import fake_images, make_spec


class OwnGenerate:
    """A plugin with its own generate stage, counting its calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    @hookimpl
    def imagine_generate(
        self, spec: GenerationSpec, models: Any, control: JobControl
    ) -> list[Image.Image]:
        self.calls.append("one")
        return fake_images(spec)


class OwnBatch(OwnGenerate):
    @hookimpl
    def imagine_generate_batch(
        self, specs: Sequence[GenerationSpec], models: Any, controls: Sequence[JobControl]
    ) -> list[list[Image.Image]]:
        self.calls.append(f"batch of {len(specs)}")
        return [fake_images(spec) for spec in specs]


@pytest.fixture(params=[OwnGenerate, OwnBatch])
def plugged(request: pytest.FixtureRequest, settings: Settings) -> Iterator[tuple[Any, JobRunner]]:
    manager = build_plugin_manager(settings)
    plugin = request.param()
    manager.register(plugin, "own-generate")
    runner = JobRunner(manager, ModelRegistry(settings))
    yield plugin, runner
    runner.close()


def test_a_replaced_generate_stage_batches_only_when_it_says_how(
    plugged: tuple[OwnGenerate, JobRunner],
) -> None:
    plugin, runner = plugged
    specs = [make_spec(seed) for seed in (1, 2)]
    assert specs[0].batch_key == specs[1].batch_key is not None
    outcomes = runner.submit_batch(specs, [JobControl(), JobControl()]).result()
    assert [len(outcome.images) for outcome in outcomes] == [4, 4]  # type: ignore[union-attr]
    expected = ["batch of 2"] if isinstance(plugin, OwnBatch) else ["one", "one"]
    assert plugin.calls == expected
