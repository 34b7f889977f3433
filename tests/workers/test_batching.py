"""Four compatible queued jobs run as one pipeline call on a local worker, and each gets the
four images of its own seeds that it would get alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from imagine_bot.config import Settings
from imagine_bot.engine.control import JobControl
from imagine_bot.engine.jobs.records import ProgressEvent, Requester, SucceededEvent
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.workers.local import LocalWorkerPool
from tests.support.jobkit import make_spec, tuned
from tests.support.workerkit import Bench

TOLERANCE = 1
"""Largest difference allowed per 8-bit channel between a batched image and the same image
made alone: a batch of 16 may round floats differently from a batch of 4 in the CPU kernels."""


async def test_four_queued_jobs_share_one_pipeline_call_with_their_own_seeds(
    settings: Settings, tmp_path: Path
) -> None:
    batching = tuned(settings, workers={"devices": ("cpu",), "max_batch": 16})
    pool = LocalWorkerPool.on_devices(batching, build_plugin_manager(batching))
    (runner,) = pool.runners
    unet = runner.call(lambda: runner.models.pipeline("tiny").unet).result()
    batch_sizes: list[int] = []

    def count(module: Any, args: tuple[Any, ...]) -> None:
        batch_sizes.append(int(args[0].shape[0]))

    bench = Bench(batching, pool, tmp_path)
    specs = [make_spec(10 * n, steps=3) for n in range(4)]
    try:
        await bench.service.start()
        await bench.service.pause()  # all four wait, then start together
        jobs = [
            (await bench.service.submit(Requester(n + 1), [spec]))[0]
            for n, spec in enumerate(specs)
        ]
        hook = unet.register_forward_pre_hook(count)
        await bench.service.resume()
        await bench.wait(SucceededEvent, *(job.id for job in jobs))
        hook.remove()
        alone = [runner.submit(spec, JobControl()).result().images for spec in specs]
        done = [await bench.service.job(job.id) for job in jobs]
    finally:
        await bench.service.stop()
        pool.close()
    assert batch_sizes == [2 * 16] * 3  # one call: 3 steps of 16 images (and their CFG halves)
    seconds = []
    for record, spec, expected in zip(done, specs, alone, strict=True):
        assert record is not None and record.spec.seeds == spec.seeds
        assert [e.done for e in bench.seen(ProgressEvent, record.id)] == [1, 2, 3]
        assert len(record.image_paths) == 4
        for path, image in zip(record.image_paths, expected, strict=True):
            with Image.open(path) as stored:
                got = np.asarray(stored.convert("RGB"), dtype=np.int16)
            assert np.abs(got - np.asarray(image, dtype=np.int16)).max() <= TOLERANCE
        seconds.append(record.gpu_seconds)
    assert len(set(seconds)) == 1 and seconds[0] is not None and seconds[0] > 0  # split by image
