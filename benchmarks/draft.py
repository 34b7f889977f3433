"""Draft: GPU-seconds of a ``--draft`` grid vs a default grid, as the worker measures them.

Both prompts go through the whole stage pipeline (``JobPlanner.plan`` + ``JobRunner.submit``);
the figure is ``GenerationResult.gpu_seconds``, the worker's time for generate + post-process,
which is what quota charges. Interleaved, alternating which goes first; medians. The ratio
default / draft should be at least 4: a draft must be at least four times cheaper. The ratio
of the fastest runs and of the process's CPU-seconds are shown too: on a machine shared with
other work they are disturbed less than wall time.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import _common

TARGET = 4.0
PROMPT = "a lighthouse at dusk, oil painting --seed 42"


async def measure(args: Any) -> None:
    from imagine_bot.engine.control import JobControl

    settings, planner, runner = _common.planner_and_runner(args)
    repeats = 2 if args.smoke else args.repeats
    presets = args.preset or [settings.default_model]
    rows = []
    try:
        for name in presets:
            (default,) = await planner.plan(args.prompt, model=name)
            # --draft switches to the preset's draft_model when it names one.
            (draft,) = await planner.plan(f"{args.prompt} --draft", model=name)

            def job(spec: Any) -> tuple[float, float]:
                """The worker's GPU-seconds and the process's CPU-seconds of one job."""
                cpu = time.process_time()
                seconds = runner.submit(spec, JobControl()).result().gpu_seconds
                return float(seconds), time.process_time() - cpu

            # Loading and warm-up are not the job's.
            job(default)
            job(draft)
            runs: dict[str, list[tuple[float, float]]] = {"default": [], "draft": []}
            for repeat in range(repeats):
                for which in ("default", "draft") if repeat % 2 == 0 else ("draft", "default"):
                    runs[which].append(job(default if which == "default" else draft))
            default_times = [seconds for seconds, _ in runs["default"]]
            draft_times = [seconds for seconds, _ in runs["draft"]]
            default_s = _common.median(default_times)
            draft_s = _common.median(draft_times)
            default_cpu = _common.median([cpu for _, cpu in runs["default"]])
            draft_cpu = _common.median([cpu for _, cpu in runs["draft"]])
            rows.append(
                {
                    "preset": name,
                    "default": f"{default.model} {default.width}x{default.height} "
                    f"{default.steps} steps",
                    "draft": f"{draft.model} {draft.width}x{draft.height} {draft.steps} steps",
                    "default GPU-s": default_s,
                    "draft GPU-s": draft_s,
                    "cheaper by": default_s / draft_s,
                    "cheaper by (minima)": min(default_times) / min(draft_times),
                    "cheaper by (CPU-s)": default_cpu / draft_cpu,
                }
            )
    finally:
        runner.close()
    _common.report(
        "draft",
        args,
        [
            "preset",
            "default",
            "draft",
            "default GPU-s",
            "draft GPU-s",
            "cheaper by",
            "cheaper by (minima)",
            "cheaper by (CPU-s)",
        ],
        rows,
        parameters={"prompt": args.prompt, "repeats": repeats},
        summary={
            "cheaper by (default / draft, medians)": min(row["cheaper by"] for row in rows),
            "target": f">= {TARGET}",
        },
    )


def main() -> None:
    parse = _common.parser("draft", __doc__.splitlines()[0])
    parse.add_argument("--prompt", default=PROMPT)
    parse.add_argument(
        "--preset", action="append", help="model preset (repeatable; default: the default model)"
    )
    parse.add_argument("--repeats", type=int, default=5, help="timed runs of each (default 5)")
    asyncio.run(measure(parse.parse_args()))


if __name__ == "__main__":
    main()
