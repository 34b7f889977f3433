"""Retexture and --structure on the tiny model with a tiny ControlNet (and a tiny DPT depth
model), built here and loaded from disk: the ControlNet sees the source's edges or depth at
the job's size."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from imagine_bot.config import Settings, load_settings
from imagine_bot.engine.control import JobControl
from imagine_bot.engine.errors import PromptError, UserError
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.engine.gpu.structure import canny
from imagine_bot.engine.images.geometry import fit
from imagine_bot.engine.spec import SourceImage
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.plugins.planner import JobPlanner
from imagine_bot.plugins.runner import JobRunner
from tests.engine.conftest import FetcherFactory
from tests.support.https_server import Server
from tests.support.tiny_structure import structure_env


def shapes() -> Image.Image:
    """A picture with clear edges: a disc and a bar on a plain ground, 160x96."""
    image = Image.new("RGB", (160, 96), (30, 60, 90))
    draw = ImageDraw.Draw(image)
    draw.ellipse((20, 10, 90, 80), fill=(240, 200, 40))
    draw.rectangle((110, 20, 140, 90), fill=(200, 30, 30))
    return image


def structured(test_env: dict[str, str], settings: Settings, control: str) -> Settings:
    return load_settings(env={**test_env, **structure_env(settings.paths.models, control)})


@pytest.fixture(scope="module", params=["canny", "depth"])
def kit(
    request: pytest.FixtureRequest, test_env: dict[str, str], settings: Settings
) -> Iterator[tuple[Settings, JobRunner]]:
    with_controlnet = structured(test_env, settings, request.param)
    runner = JobRunner(build_plugin_manager(with_controlnet), ModelRegistry(with_controlnet))
    yield with_controlnet, runner
    runner.close()


def spy_on_the_controlnet(runner: JobRunner) -> list[torch.Tensor]:
    """Every control image the ControlNet receives (as the pipeline prepared it)."""
    seen: list[torch.Tensor] = []

    def record(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        seen.append(kwargs["controlnet_cond"].detach().clone())

    def install() -> None:
        pipeline, _ = runner.models.controlnet_pipeline("tiny")
        pipeline.controlnet.register_forward_pre_hook(record, with_kwargs=True)

    runner._worker.submit(install).result()
    return seen


async def test_retexture_draws_on_the_sources_structure_at_the_jobs_size(
    kit: tuple[Settings, JobRunner],
) -> None:
    settings, runner = kit
    planner = JobPlanner(settings, build_plugin_manager(settings))
    (parent,) = await planner.plan("a red fox --ar 5:3 --seed 4")
    picture = shapes().resize((parent.width, parent.height))
    source = SourceImage(sha256=runner.models.store.put(picture).sha256, job_id="p", index=2)
    assert "retexture" in {a.name for a in planner.actions.for_message(parent, "image")}

    (job,) = await planner.derive(parent, "retexture", 2, source, prompt="a glass sculpture")
    assert job.kind == "txt2img" and job.source is None and "glass" in job.prompt
    assert job.structure is not None and job.structure.sha256 == source.sha256
    assert (job.width, job.height, len(job.seeds)) == (parent.width, parent.height, 4)
    assert job.batch_key is None

    seen = spy_on_the_controlnet(runner)
    images = runner.submit(job, JobControl()).result().images
    assert [image.size for image in images] == [(job.width, job.height)] * 4
    control = seen[0][0]  # the first image of the first step; [0, 1] RGB
    assert tuple(control.shape[-2:]) == (job.height, job.width)
    structure = settings.models["tiny"].structure
    assert structure is not None
    fitted = fit(picture, job.width, job.height)
    if structure.control == "canny":
        expected = canny(fitted, structure.canny_low, structure.canny_high)
    else:
        expected = runner._worker.submit(
            lambda: runner.models.depth_estimator(structure.depth_model).depth(fitted)
        ).result()
    given = (control.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    assert np.array_equal(given, np.asarray(expected))
    # the ControlNet steers: the same job on another structure gives other images
    blank = runner.models.store.put(Image.new("RGB", picture.size, (30, 60, 90)))
    other = job.model_copy(
        update={"structure": job.structure.model_copy(update={"sha256": blank.sha256})}
    )
    again = runner.submit(other, JobControl()).result().images
    assert not np.array_equal(np.asarray(again[0]), np.asarray(images[0]))


async def test_a_structure_image_past_the_pixel_limit_is_refused_before_queueing(
    test_env: dict[str, str], settings: Settings, server: Server, make_fetcher: FetcherFactory
) -> None:
    with_controlnet = structured(test_env, settings, "canny")
    planner = JobPlanner(
        with_controlnet, build_plugin_manager(with_controlnet), fetcher=make_fetcher()
    )
    too_many = r"bomb\.png has far too many pixels .*; the limit is 40 megapixels\.$"
    with pytest.raises(UserError, match=too_many):
        await planner.plan(f"a fox --structure {server.url('/bomb.png')}")
    red = server.url("/red.png")
    (spec,) = await planner.plan(f"a fox --structure {red} --structure-weight 1.5")
    assert spec.structure is not None and spec.structure.weight == 1.5 and spec.structure.sha256
    plain = JobPlanner(settings, build_plugin_manager(settings), fetcher=make_fetcher())
    with pytest.raises(UserError, match=r"has no ControlNet \(models\.tiny\.structure"):
        await plain.plan(f"a fox --structure {red}")


async def test_structure_needs_a_link_and_a_model_with_a_controlnet(planner: JobPlanner) -> None:
    with pytest.raises(PromptError, match="--structure takes an image link"):
        await planner.plan("a fox --structure photo.png")
    (plain,) = await planner.plan("a fox")
    # the tests' default tiny preset has no ControlNet: no Retexture button under its images
    assert "retexture" not in {a.name for a in planner.actions.for_message(plain, "image")}
    with pytest.raises(UserError, match="Retexture is not available for this job"):
        await planner.derive(plain, "retexture", 1, SourceImage(sha256="0" * 64))
