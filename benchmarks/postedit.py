"""Post-edit jobs: GPU-seconds of Rerun as HD and ``--hd`` vs a plain grid, and of Fix Faces vs
Vary (Region) over the same face, as the worker measures them (what quota charges).

A plain grid of the prompt is made first; Rerun as HD runs on its image 1. Fix Faces runs on
a drawn face (``tests/support/faces.py``, found by OpenCV's cascade) at least 128 px a side,
and Vary (Region) on the same picture with the found box as its mask. Interleaved,
alternating the order; medians, and their ratios measured in the same run. ``--hd-only``
leaves out the faces (and OpenCV): the GPU suite's HD row (``benchmarks/gpu/run.sh``).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import _common

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support

from tests.support.faces import drawn_face

FACE_PICTURE_SIDE = 128
"""The smallest picture the drawn face is found in (the smoke run's grid is 64 px)."""
PROMPT = "a portrait of a lighthouse keeper, oil painting --seed 42"


async def measure(args: Any) -> None:
    from imagine_bot.engine.control import JobControl
    from imagine_bot.engine.spec import SourceImage

    settings, planner, runner = _common.planner_and_runner(args)
    repeats = 1 if args.smoke else args.repeats
    store = runner.models.store
    try:
        (grid,) = await planner.plan(args.prompt)
        (hd_grid,) = await planner.plan(f"{args.prompt} --hd")
        first = runner.submit(grid, JobControl()).result()
        chosen = SourceImage(sha256=store.put(first.images[0]).sha256, job_id="grid", index=1)
        (rerun,) = await planner.derive(grid, "rerun_hd", 1, chosen)
        jobs = {"plain grid": grid, "--hd grid": hd_grid, "Rerun as HD": rerun}
        if not args.hd_only:
            jobs |= await face_jobs(settings, planner, store, grid)

        def seconds(name: str) -> float:
            return float(runner.submit(jobs[name], JobControl()).result().gpu_seconds)

        for name in jobs:  # loading, warm-up and the variants' from_pipe are not the job's
            seconds(name)
        runs: dict[str, list[float]] = {name: [] for name in jobs}
        for repeat in range(repeats):
            for name in list(jobs) if repeat % 2 == 0 else list(reversed(jobs)):
                runs[name].append(seconds(name))
    finally:
        runner.close()
    median = {name: _common.median(times) for name, times in runs.items()}
    summary = {
        "Rerun as HD / plain grid": median["Rerun as HD"] / median["plain grid"],
        "--hd grid / plain grid": median["--hd grid"] / median["plain grid"],
    }
    if "Fix Faces" in median:
        summary["Fix Faces / Vary (Region)"] = median["Fix Faces"] / median["Vary (Region)"]
    rows = [
        {
            "job": name,
            "images": f"{len(spec.seeds)}x {spec.width}x{spec.height}",
            "GPU-s": median[name],
            "x plain grid": median[name] / median["plain grid"],
        }
        for name, spec in jobs.items()
    ]
    _common.report(
        "postedit",
        args,
        ["job", "images", "GPU-s", "x plain grid"],
        rows,
        parameters={"prompt": args.prompt, "repeats": repeats, "device": settings.engine.device},
        summary=summary,
    )


async def face_jobs(settings: Any, planner: Any, store: Any, grid: Any) -> dict[str, Any]:
    """Fix Faces and Vary (Region) over the same drawn face, found by OpenCV's cascade."""
    from PIL import Image

    from imagine_bot.engine.images.detectors import find_faces
    from imagine_bot.engine.spec import SourceImage

    side = max(grid.width, FACE_PICTURE_SIDE)
    picture = drawn_face((side, side), (side // 4, side // 6, side * 3 // 4, side * 5 // 6))
    (box,) = find_faces(picture, settings.fix.min_side)
    face = SourceImage(sha256=store.put(picture).sha256, job_id="face", index=1)
    mask = Image.new("L", picture.size, 0)
    mask.paste(255, box.as_tuple())
    marked = SourceImage(sha256=store.put(mask).sha256)
    square = grid.model_copy(update={"width": side, "height": side})
    (fix,) = await planner.derive(square, "fix_faces", 1, face)
    (region,) = await planner.derive(square, "vary_region", 1, face, mask=marked)
    return {"Fix Faces": fix, "Vary (Region)": region}


def main() -> None:
    parse = _common.parser("postedit", __doc__.splitlines()[0])
    parse.add_argument("--prompt", default=PROMPT)
    parse.add_argument("--repeats", type=int, default=5, help="timed runs of each (default 5)")
    parse.add_argument("--hd-only", action="store_true", help="only the HD jobs (no OpenCV)")
    asyncio.run(measure(parse.parse_args()))


if __name__ == "__main__":
    main()
