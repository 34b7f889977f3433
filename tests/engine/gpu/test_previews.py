"""Live previews: a linear latent -> RGB projection, sent through JobControl every few steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from imagine_bot.config import Settings
from imagine_bot.engine.control import JobControl
from imagine_bot.engine.gpu.families.sd1 import PREVIEW as SD1
from imagine_bot.engine.gpu.families.sdxl import PREVIEW as SDXL
from imagine_bot.engine.gpu.previews import latents_to_rgb, preview_image
from imagine_bot.engine.images.store import ImageStore
from imagine_bot.engine.jobs.records import JobEvent, ProgressEvent, Requester, SucceededEvent
from imagine_bot.engine.jobs.service import JobService
from imagine_bot.engine.jobs.storage import Database
from imagine_bot.engine.spec import GenerationSpec
from imagine_bot.plugins.planner import JobPlanner
from imagine_bot.plugins.runner import JobRunner
from tests.support.jobkit import tuned, until


def test_the_projection_is_the_documented_matrix() -> None:
    latents = torch.zeros(1, 4, 2, 3)
    latents[0, 3] = 1.0  # only the fourth channel
    (image,) = latents_to_rgb(latents, SD1)
    assert image.size == (3, 2)
    expected = np.rint((np.array(SD1.factors[3]) + 1) * 127.5)
    assert np.abs(np.asarray(image)[1, 2] - expected).max() <= 1
    (biased,) = latents_to_rgb(torch.zeros(1, 4, 1, 1), SDXL)
    assert np.abs(np.asarray(biased)[0, 0] - (np.array(SDXL.bias) + 1) * 127.5).max() <= 1


def test_a_batch_becomes_a_grid() -> None:
    grid = preview_image(torch.randn(4, 4, 16, 24), SD1)
    assert grid.size == (48, 32)
    assert preview_image(torch.randn(1, 4, 16, 24), SD1).size == (24, 16)


async def test_previews_arrive_every_few_steps_in_place_of_progress(
    planner: JobPlanner, runner: JobRunner
) -> None:
    (spec,) = await planner.plan("a fox --seed 1 --q 2")
    assert isinstance(spec, GenerationSpec) and spec.steps == 8
    progress: list[tuple[int, int]] = []
    previews: list[tuple[int, int, Image.Image]] = []
    control = JobControl(
        lambda done, total: progress.append((done, total)),
        on_preview=lambda done, total, image: previews.append((done, total, image)),
        preview_every=3,
    )
    runner.submit(spec, control).result()
    # every step once: with a preview every third step, as plain progress otherwise
    assert [(done, total) for done, total, _ in previews] == [(3, 8), (6, 8)]
    assert progress == [(step, 8) for step in (1, 2, 4, 5, 7, 8)]
    size = (2 * spec.width // 8, 2 * spec.height // 8)
    assert all(image.size == size and image.mode == "RGB" for _, _, image in previews)
    assert np.asarray(previews[0][2]).std() > 0


async def test_no_previews_unless_asked(planner: JobPlanner, runner: JobRunner) -> None:
    (spec,) = await planner.plan("a fox --seed 1")
    control = JobControl(preview_every=1)
    assert not control.wants_preview(1, 4)
    runner.submit(spec, control).result()
    off = JobControl(on_preview=lambda *args: None, preview_every=0)
    assert not off.wants_preview(1, 4)


async def test_the_job_service_passes_previews_on_with_the_progress(
    settings: Settings, planner: JobPlanner, runner: JobRunner, tmp_path: Path
) -> None:
    """One ProgressEvent per step, those every engine.preview_every steps with the preview."""
    watched = tuned(settings, engine={"preview_every": 2})
    database = Database(f"sqlite:///{tmp_path / 'jobs.db'}")
    service = JobService(watched, database, ImageStore(tmp_path / "images"), runner.submit)
    events: list[JobEvent] = []
    service.subscribe(events.append)
    await service.start()
    try:
        (spec,) = await planner.plan("a fox --seed 3")
        (job,) = await service.submit(Requester(1), [spec], interaction_id=7)
        await until(lambda: any(isinstance(e, SucceededEvent) for e in events), timeout=300)
    finally:
        await service.stop()
    progress = [e for e in events if isinstance(e, ProgressEvent) and e.job.id == job.id]
    assert [e.done for e in progress] == [1, 2, 3, 4]
    assert [e.done for e in progress if e.preview is not None] == [2]
    preview = progress[1].preview
    assert preview is not None and preview.size == (2 * spec.width // 8, 2 * spec.height // 8)
