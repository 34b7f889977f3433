"""Content Credentials: what signing costs per image, in ms and as a share of the grid's
GPU-seconds.

A tiny-model grid (``/imagine``) and a Vary (Subtle) of its second image (whose manifests name
that image as their parent) run through the whole stage pipeline; then their PNGs are encoded
as the worker encodes them (``result_pngs``, on a CPU thread), with and without signing,
interleaved; medians. Signing ms per PNG is (signed - plain) / (4 images + the grid); the share
is the job's five signatures over its ``gpu_seconds``, and over the process's CPU-seconds for
the job (less disturbed by other load on a shared machine). The tiny model's grid is far cheaper
than a real one, so the share here is an upper bound: a real SDXL grid takes seconds.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import _common

PROMPT = "a lighthouse at dusk, oil painting --seed 42"


async def measure(args: Any) -> None:
    from imagine_bot.engine.control import JobControl
    from imagine_bot.engine.images.files import result_pngs
    from imagine_bot.engine.provenance.manifest import ContentRecord
    from imagine_bot.engine.result import GenerationResult
    from imagine_bot.engine.spec import SourceImage

    _, planner, runner = _common.planner_and_runner(args)
    repeats = 2 if args.smoke else args.repeats
    store = runner.models.store
    rows: list[dict[str, Any]] = []
    try:
        (grid_spec,) = await planner.plan(args.prompt)
        grid = runner.submit(grid_spec, JobControl()).result()
        second = result_pngs(grid).images[1]
        stored = store.put_png(second, *grid.images[1].size)
        source = SourceImage(sha256=stored.sha256, job_id="benchmark", index=2)
        (vary_spec,) = await planner.derive(grid_spec, "vary_subtle", 2, source)
        jobs = {"imagine (created)": grid_spec, "vary_subtle (edited, with parent)": vary_spec}
        for label, spec in jobs.items():
            cpu = time.process_time()
            results = [runner.submit(spec, JobControl()).result() for _ in range(repeats)]
            job_cpu = (time.process_time() - cpu) / repeats
            gpu_seconds = _common.median([result.gpu_seconds for result in results])
            record = results[0].provenance

            def encode(
                result: GenerationResult, signed: bool, record: ContentRecord | None = record
            ) -> tuple[float, float]:
                """Wall and CPU seconds of encoding ``result``'s PNGs."""
                result.provenance = record if signed else None
                started, cpu = time.perf_counter(), time.process_time()
                result_pngs(result)
                return time.perf_counter() - started, time.process_time() - cpu

            encode(results[0], True)  # the first signature loads the signer's libraries
            plain: list[tuple[float, float]] = []
            signed: list[tuple[float, float]] = []
            for repeat in range(repeats):
                for sign in (True, False) if repeat % 2 else (False, True):
                    (signed if sign else plain).append(encode(results[repeat], sign))
            pngs = len(results[0].images) + (results[0].grid is not None)
            plain_s, signed_s = (
                _common.median([wall for wall, _ in runs]) for runs in (plain, signed)
            )
            sign_cpu = _common.median([c for _, c in signed]) - _common.median(
                [c for _, c in plain]
            )
            rows.append(
                {
                    "job": label,
                    "size": f"{spec.width}x{spec.height}",
                    "PNGs": pngs,
                    "GPU-s": gpu_seconds,
                    "encode ms": plain_s * 1000,
                    "encode + sign ms": signed_s * 1000,
                    "sign ms per PNG": (signed_s - plain_s) * 1000 / pngs,
                    "signing / GPU-s": (signed_s - plain_s) / gpu_seconds,
                    "signing / job (CPU-s)": sign_cpu / job_cpu,
                }
            )
    finally:
        runner.close()
    _common.report(
        "provenance",
        args,
        [
            "job",
            "size",
            "PNGs",
            "GPU-s",
            "encode ms",
            "encode + sign ms",
            "sign ms per PNG",
            "signing / GPU-s",
            "signing / job (CPU-s)",
        ],
        rows,
        parameters={"prompt": args.prompt, "repeats": repeats},
        summary={
            "sign ms per PNG (max)": max(row["sign ms per PNG"] for row in rows),
            "signing / GPU-s (max)": max(row["signing / GPU-s"] for row in rows),
        },
    )


def main() -> None:
    parse = _common.parser("provenance", __doc__.splitlines()[0])
    parse.add_argument("--prompt", default=PROMPT)
    parse.add_argument("--repeats", type=int, default=7, help="timed runs of each (default 7)")
    asyncio.run(measure(parse.parse_args()))


if __name__ == "__main__":
    main()
