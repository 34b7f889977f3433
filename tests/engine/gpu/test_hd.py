"""HD on the tiny model: ``--hd`` and Rerun as HD give twice the side through a second pass."""

from __future__ import annotations

import asyncio

import pytest

from imagine_bot.config import Settings, load_settings
from imagine_bot.engine.control import JobControl
from imagine_bot.engine.errors import UserError
from imagine_bot.engine.result import GenerationResult
from imagine_bot.engine.spec import GenerationSpec, SourceImage
from imagine_bot.plugins.builtin.metadata import parameters_text
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.plugins.planner import JobPlanner
from imagine_bot.plugins.runner import JobRunner
from tests.engine.conftest import UNetSpy
from tests.engine.gpu.test_actions import stored


@pytest.fixture(scope="module")
def parent(settings: Settings, runner: JobRunner) -> tuple[GenerationSpec, GenerationResult]:
    planner = JobPlanner(settings, build_plugin_manager(settings))
    (spec,) = asyncio.run(planner.plan("a lighthouse at dusk --ar 3:2 --seed 3"))
    return spec, runner.submit(spec, JobControl()).result()


async def test_hd_renders_twice_the_side_through_a_second_pass(
    planner: JobPlanner, runner: JobRunner, settings: Settings, unet_spy: UNetSpy
) -> None:
    (plain,) = await planner.plan("a fox --ar 3:2")
    (hd,) = await planner.plan("a fox --ar 3:2 --hd")
    assert (hd.width, hd.height) == (plain.width * 2, plain.height * 2)
    assert hd.hd == settings.actions.hd_strength and hd.kind == "txt2img"
    assert hd.batch_key is None  # a second pass: never batched with plain grids
    progress: list[tuple[int, int]] = []
    result = runner.submit(hd, JobControl(lambda done, total: progress.append((done, total))))
    images = result.result().images
    assert [image.size for image in images] == [(hd.width, hd.height)] * 4
    # first pass at the preset's size, then the repaint at twice its side
    sides = sorted({tuple(call.latents.shape[-2:]) for call in unet_spy.calls})
    assert sides == [(plain.height // 8, plain.width // 8), (hd.height // 8, hd.width // 8)]
    # one progress bar over both passes, ending at the steps that ran
    assert progress[-1] == (hd.steps_run, hd.steps_run)
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)
    assert "Hires upscale: 2" in parameters_text(hd, hd.seeds[0])


async def test_rerun_as_hd_repaints_the_chosen_image_at_twice_its_side(
    planner: JobPlanner,
    runner: JobRunner,
    parent: tuple[GenerationSpec, GenerationResult],
    unet_spy: UNetSpy,
) -> None:
    spec, result = parent
    source = stored(runner, result, 3)
    assert "rerun_hd" in {a.name for a in planner.actions.for_message(spec, "image")}
    (hd,) = await planner.derive(spec, "rerun_hd", 3, source)
    assert (hd.width, hd.height) == (spec.width * 2, spec.height * 2)
    assert (hd.kind, hd.seeds, hd.hd, hd.stop) == ("img2img", (spec.seeds[2],), 0.35, 100)
    (image,) = runner.submit(hd, JobControl()).result().images
    assert image.size == (spec.width * 2, spec.height * 2)
    assert {tuple(call.latents.shape[-2:]) for call in unet_spy.calls} == {
        (hd.height // 8, hd.width // 8)
    }
    # an HD image is the large copy: no second Rerun as HD under it
    assert "rerun_hd" not in {a.name for a in planner.actions.for_message(hd, "image")}


async def test_hd_past_the_servers_size_is_refused_before_queueing(
    test_env: dict[str, str], parent: tuple[GenerationSpec, GenerationResult]
) -> None:
    settings = load_settings(env={**test_env, "IMAGINE_ENGINE__MAX_PIXELS": str(200 * 200)})
    planner = JobPlanner(settings, build_plugin_manager(settings))
    with pytest.raises(UserError, match=r"^An HD image of 256x256 would be larger than this"):
        await planner.plan("a fox --hd")
    (plain,) = await planner.plan("a fox")  # the same prompt without --hd is fine
    assert (plain.width, plain.height) == (128, 128)
    with pytest.raises(UserError, match="An HD image of 384x256"):
        await planner.derive(parent[0], "rerun_hd", 1, SourceImage(sha256="0" * 64))


async def test_a_reroll_of_an_hd_grid_stays_hd_at_the_same_size(planner: JobPlanner) -> None:
    (hd,) = await planner.plan("a fox --hd")
    (rerolled,) = await planner.derive(hd, "reroll", 0, None)
    assert (rerolled.width, rerolled.height, rerolled.hd) == (hd.width, hd.height, hd.hd)
