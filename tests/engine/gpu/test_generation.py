"""One job end to end on the tiny model: batching, seeds, progress, cancel, files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from imagine_bot.config import load_settings
from imagine_bot.config.settings import SCHEDULERS, SchedulerName
from imagine_bot.engine.control import JobCancelled, JobControl
from imagine_bot.engine.errors import UserError
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.engine.images.files import save_result
from imagine_bot.engine.images.store import PARAMETERS_KEY
from imagine_bot.engine.spec import GenerationSpec
from imagine_bot.plugins.planner import JobPlanner
from imagine_bot.plugins.runner import JobRunner


async def plan_one(planner: JobPlanner, text: str) -> GenerationSpec:
    (spec,) = await planner.plan(text)
    return spec


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float32)


async def test_a_grid_is_four_images_from_one_spec(planner: JobPlanner, runner: JobRunner) -> None:
    spec = await plan_one(planner, "a red fox --ar 3:2 --seed 42")
    steps: list[tuple[int, int]] = []
    result = runner.submit(
        spec, JobControl(lambda done, total: steps.append((done, total)))
    ).result()
    assert [image.size for image in result.images] == [(spec.width, spec.height)] * 4
    assert result.grid is not None and result.grid.size == (2 * spec.width, 2 * spec.height)
    assert steps == [(step, spec.steps) for step in range(1, spec.steps + 1)]
    assert result.gpu_seconds > 0
    # the grid is the four images in reading order
    assert np.array_equal(
        pixels(result.grid.crop((spec.width, spec.height, 2 * spec.width, 2 * spec.height))),
        pixels(result.images[3]),
    )


async def test_the_same_seed_gives_the_same_images(planner: JobPlanner, runner: JobRunner) -> None:
    spec = await plan_one(planner, "a lighthouse --seed 7")
    first = runner.submit(spec, JobControl()).result()
    second = runner.submit(spec, JobControl()).result()
    for a, b in zip(first.images, second.images, strict=True):
        assert np.array_equal(pixels(a), pixels(b))
    assert not np.array_equal(pixels(first.images[0]), pixels(first.images[1]))


async def test_any_image_of_a_grid_can_be_regenerated_alone(
    planner: JobPlanner, runner: JobRunner
) -> None:
    grid = runner.submit(await plan_one(planner, "a lighthouse --seed 100"), JobControl()).result()
    # A grid that starts at image 3's seed: its first image is image 3 again.
    later = runner.submit(await plan_one(planner, "a lighthouse --seed 102"), JobControl()).result()
    difference = np.abs(pixels(grid.images[2]) - pixels(later.images[0])).max()
    assert difference <= 2  # batched and unbatched math may round a pixel value differently
    assert np.abs(pixels(grid.images[2]) - pixels(later.images[1])).mean() > 5


def test_the_worker_thread_is_the_only_one_touching_pipelines(runner: JobRunner) -> None:
    with pytest.raises(RuntimeError, match="GPU worker thread"):
        runner.models.pipeline("tiny")


async def test_a_cancelled_job_stops_at_the_next_step(
    planner: JobPlanner, runner: JobRunner
) -> None:
    spec = await plan_one(planner, "a fox --q 4")
    seen: list[int] = []

    def on_progress(done: int, total: int) -> None:
        seen.append(done)
        if done == 2:
            control.cancel()

    control = JobControl(on_progress)
    with pytest.raises(JobCancelled):
        runner.submit(spec, control).result()
    assert max(seen) == 2 < spec.steps


async def test_results_are_written_with_parameters(
    planner: JobPlanner, runner: JobRunner, tmp_path: Path
) -> None:
    spec = await plan_one(planner, "a red fox --no blur --seed 5")
    files = save_result(runner.submit(spec, JobControl()).result(), tmp_path, "job1")
    assert files.grid == tmp_path / "job1_grid.png"
    assert [path.name for path in files.images] == [f"job1_{n}.png" for n in range(1, 5)]
    with Image.open(files.images[1]) as image:
        parameters = image.info[PARAMETERS_KEY]
    assert parameters.splitlines()[0] == "a red fox"
    assert parameters.splitlines()[1] == "Negative prompt: blur"
    assert "Seed: 6, " in parameters and f"Size: {spec.width}x{spec.height}" in parameters
    assert (
        "Steps: 4, Sampler: Euler a, CFG scale: 5.0" in parameters and "Model: tiny" in parameters
    )
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("scheduler", ["euler", "ddim", "dpmpp_2m_karras", "unipc", "default"])
def test_every_scheduler_setting_makes_a_fresh_scheduler(
    runner: JobRunner, scheduler: SchedulerName
) -> None:
    def fresh_pair() -> tuple[Any, Any]:
        pipeline = runner.models.pipeline("tiny")
        return runner.models.fresh_scheduler(pipeline, scheduler), runner.models.fresh_scheduler(
            pipeline, scheduler
        )

    first, second = runner._worker.submit(fresh_pair).result()
    assert first is not second
    assert first.config == second.config


def test_every_scheduler_name_has_a_class_and_a_sampler_name() -> None:
    from imagine_bot.engine.gpu import models
    from imagine_bot.plugins.builtin.metadata import SAMPLER_NAMES

    assert set(models.SCHEDULERS) == set(SCHEDULERS) - {"default"}
    assert set(SAMPLER_NAMES) == set(SCHEDULERS)


def test_the_tiny_model_is_built_once_and_loaded_like_any_other(
    settings: object, data_dir: Path
) -> None:
    assert (data_dir / "models" / "tiny" / "model_index.json").is_file()
    assert (data_dir / "models" / "tiny" / "unet" / "diffusion_pytorch_model.safetensors").is_file()
    assert not [path for path in (data_dir / "models").iterdir() if path.name.startswith(".tiny-")]


def test_an_unloadable_model_is_a_clear_error(test_env: dict[str, str], tmp_path: Path) -> None:
    settings = load_settings(env={**test_env, "IMAGINE_MODELS__TINY__SOURCE": str(tmp_path)})
    registry = ModelRegistry(settings)
    registry.claim_thread()
    with pytest.raises(UserError, match="'tiny' could not be loaded"):
        registry.pipeline("tiny")
