"""Workers: grids per minute through the job service with 1 vs 2 workers, and batched vs not.

Each configuration runs the real dispatcher (``JobService``) over a worker pool on the default
preset: ``--grids`` grids from as many members (so per-member caps never hold one back) are
queued while the service is paused, then released; the time from release to the last
success gives grids per minute. Local workers are threads of this process with one torch
thread each (``torch.set_num_threads(1)``); ``--backend ray`` runs the same on CPU actors of a
local Ray instance this script starts (one process each; Ray gives each actor one thread).
``--device cuda:0`` puts every local worker on that GPU (two workers share it).
Configurations alternate over ``--repeats`` rounds and the medians are compared: ``2 workers /
1 worker`` (goal >= 1.8 on 2 cores) and ``batched / unbatched`` on one worker (goal >= 1).
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import _common

CONFIGS = {
    "1 worker": {"workers": 1, "max_batch": 4},
    "2 workers": {"workers": 2, "max_batch": 4},
    "1 worker, batched": {"workers": 1, "max_batch": 16},
}


def build_pool(settings: Any, backend: str, device: str, workers: int, max_batch: int) -> Any:
    from imagine_bot.plugins.manager import build_plugin_manager
    from imagine_bot.workers.local import LocalWorkerPool
    from imagine_bot.workers.ray import RayWorkerPool

    if backend == "ray":
        table = {"backend": "ray", "count": workers, "gpus_per_worker": 0.0}
    else:
        table = {"devices": (device,) * workers}
    section = settings.workers.model_copy(update={**table, "max_batch": max_batch})
    tuned = settings.model_copy(update={"workers": section})
    if backend == "ray":
        pool: Any = RayWorkerPool(tuned)
    else:
        pool = LocalWorkerPool.on_devices(tuned, build_plugin_manager(tuned))
    pool.start()
    return tuned, pool


async def throughput(settings: Any, pool: Any, specs: list[Any], folder: Path) -> float:
    """Seconds from releasing the queued grids to the last one succeeding."""
    from imagine_bot.engine.images.store import ImageStore
    from imagine_bot.engine.jobs.records import FailedEvent, JobEvent, Requester, SucceededEvent
    from imagine_bot.engine.jobs.service import JobService
    from imagine_bot.engine.jobs.storage import Database

    while pool.capacity < 1:
        await asyncio.sleep(0.1)
    ended: list[JobEvent] = []
    database = Database(f"sqlite:///{folder / 'jobs.db'}")
    service = JobService(settings, database, ImageStore(folder / "images"), pool)
    service.subscribe(
        lambda event: (
            ended.append(event) if isinstance(event, SucceededEvent | FailedEvent) else None
        )
    )
    await service.start()
    try:
        await service.pause()
        for member, spec in enumerate(specs, 1):
            await service.submit(Requester(member), [spec])
        started = time.perf_counter()
        await service.resume()
        while len(ended) < len(specs):
            await asyncio.sleep(0.01)
        seconds = time.perf_counter() - started
    finally:
        await service.stop()
        database.dispose()
    failed = [event for event in ended if isinstance(event, FailedEvent)]
    if failed:
        raise RuntimeError(f"a benchmark job failed: {failed[0].job.error}")
    return seconds


def grid_specs(settings: Any, count: int, steps: int) -> list[Any]:
    from imagine_bot.engine.spec import GenerationSpec, PromptPart

    preset = settings.models[settings.default_model]
    return [
        GenerationSpec(
            prompt=f"a lighthouse at dusk {n}",
            parts=(PromptPart(text=f"a lighthouse at dusk {n}"),),
            negative_prompt="blurry",
            model=settings.default_model,
            width=preset.resolution,
            height=preset.resolution,
            steps=steps or preset.steps,
            guidance=preset.guidance,
            scheduler="euler_a",
            seeds=tuple(range(4 * n, 4 * n + 4)),
            lane="fast",
        )
        for n in range(count)
    ]


def measure(args: Any) -> None:
    import torch

    torch.set_num_threads(1)
    overrides = {"IMAGINE_ENGINE__WARM_UP": "false"}
    if args.size and not args.smoke:
        overrides["IMAGINE_MODELS__TINY__RESOLUTION"] = str(args.size)
    settings = _common.settings(args, overrides)
    if args.backend == "ray":
        import ray

        ray.init(num_cpus=4, include_dashboard=False, logging_level=logging.WARNING)
    grids = 2 if args.smoke else args.grids
    repeats = 1 if args.smoke else args.repeats
    specs = grid_specs(settings, grids, args.steps)
    pools = {
        name: build_pool(settings, args.backend, args.device, **config)
        for name, config in CONFIGS.items()
    }
    times: dict[str, list[float]] = {name: [] for name in CONFIGS}
    try:
        with tempfile.TemporaryDirectory() as scratch:
            for repeat in range(repeats + 1):  # round 0 loads the models and warms up
                names = list(CONFIGS) if repeat % 2 == 0 else list(reversed(CONFIGS))
                for name in names:
                    tuned, pool = pools[name]
                    folder = Path(scratch) / f"{name}-{repeat}".replace(" ", "_").replace(",", "")
                    folder.mkdir()
                    seconds = asyncio.run(throughput(tuned, pool, specs, folder))
                    if repeat or args.smoke:
                        times[name].append(seconds)
    finally:
        for _, pool in pools.values():
            pool.close()
    per_minute = {name: 60 * grids / statistics.median(values) for name, values in times.items()}
    rows = [
        {
            "workers": name,
            "grids": grids,
            "median s": statistics.median(values),
            "grids/min": per_minute[name],
            "all s": [round(value, 3) for value in values],
        }
        for name, values in times.items()
    ]
    preset = settings.models[settings.default_model]
    _common.report(
        "workers",
        args,
        ["workers", "grids", "median s", "grids/min"],
        rows,
        parameters={
            "backend": args.backend,
            "device": args.device,
            "preset": settings.default_model,
            "size": preset.resolution,
            "steps": specs[0].steps,
            "repeats": repeats,
            "torch threads per worker": 1,
        },
        summary={
            "2 workers / 1 worker (grids/min)": per_minute["2 workers"] / per_minute["1 worker"],
            "batched / unbatched (grids/min)": per_minute["1 worker, batched"]
            / per_minute["1 worker"],
            "load average at the end": [round(value, 2) for value in os.getloadavg()],
        },
        notes=["goal: 2 workers >= 1.8x one worker on 2 cores; batching never slower"],
    )
    if args.backend == "ray":
        ray.shutdown()


def main() -> None:
    parse = _common.parser("workers", __doc__.splitlines()[0])
    parse.add_argument("--backend", choices=("local", "ray"), default="local")
    parse.add_argument("--grids", type=int, default=8, help="grids per configuration and round")
    parse.add_argument("--steps", type=int, default=0, help="default: the preset's")
    parse.add_argument("--size", type=int, default=0, help="tiny preset side (default: its own)")
    parse.add_argument("--device", default="cpu", help="local workers' device (cpu, cuda:0)")
    parse.add_argument("--repeats", type=int, default=3)
    args = parse.parse_args()
    if args.backend == "ray" and not args.out and not args.smoke:
        args.out = _common.RESULTS / "workers_ray.json"
    measure(args)


if __name__ == "__main__":
    main()
