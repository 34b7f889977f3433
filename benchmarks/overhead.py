"""Overhead: one /imagine grid through our whole stage pipeline vs the bare diffusers call.

"Ours" is what the bot does for a prompt: ``JobPlanner.plan`` (parse, transform, validate with
the installed plugins) on the event loop, then ``JobRunner.submit`` (the generate stage with
progress and live previews sent back to the loop, and the post-process stages: grid,
metadata) on the GPU worker, awaited from the loop. "Bare" is the diffusers call with
identical arguments (prompts, size, steps, guidance, scheduler, one generator per seed) on the
same pipeline object, called directly. The two are interleaved in one run, alternating which
goes first; the ratio is of the medians. Target <= 1.05 for the preset's rows.

Then one row per model family (its tiny model, at the preset's default grid): the bare call
there gets each family's own arguments (a negative prompt where the family takes one, its
guidance under the name it reads). Target <= 1.02 for those.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import _common
import numpy as np

TARGET = 1.05
FAMILY_TARGET = 1.02
PROMPT = "a lighthouse at dusk, oil painting --seed 42"
# The preset's default grid, a cheaper one, and the draft: the cheaper the grid, the larger
# our fixed costs weigh, so the last rows are the honest worst case.
FULL_CASES = ("", "--q .5", "--draft")


async def measure(args: Any) -> None:
    import torch

    from imagine_bot.engine.control import JobControl

    _, planner, runner = _common.planner_and_runner(args)
    loop = asyncio.get_running_loop()
    from imagine_bot.engine.gpu.families import FAMILIES
    from imagine_bot.engine.gpu.tiny import PREFIX

    repeats = 2 if args.smoke else args.repeats
    family_models = [
        family.tiny_source.removeprefix(PREFIX)
        for family in FAMILIES.values()
        if family.tiny_source not in (None, "builtin:tiny")
    ]
    if args.smoke:  # the preset and one transformer family
        family_models = family_models[1:2]
    cases = [(args.model, case) for case in (("",) if args.smoke else FULL_CASES)]
    cases += [(name, "") for name in family_models]
    rows: list[dict[str, Any]] = []

    def progress(done: int, total: int) -> None:
        loop.call_soon_threadsafe(_noop)

    def preview(done: int, total: int, image: Any) -> None:
        loop.call_soon_threadsafe(_noop)

    try:
        for model, case in cases:
            text = f"{args.prompt} {case}".strip()
            (spec,) = await planner.plan(text, model=model)
            pipeline = await asyncio.wrap_future(runner.call(runner.models.pipeline, spec.model))
            family = await asyncio.wrap_future(runner.call(runner.models.family, spec.model))

            async def ours(text: str = text, model: str | None = model) -> dict[str, Any]:
                started, cpu = time.perf_counter(), time.process_time()
                (planned,) = await planner.plan(text, model=model)
                planned_at = time.perf_counter()
                # Progress and previews go back to the event loop as they do in the bot.
                control = JobControl(progress, on_preview=preview)
                result = await asyncio.wrap_future(runner.submit(planned, control))
                return {
                    "wall": time.perf_counter() - started,
                    "cpu": time.process_time() - cpu,
                    "plan": planned_at - started,
                    "worker": result.gpu_seconds,
                    "images": result.images,
                }

            def bare(
                spec: Any = spec, pipeline: Any = pipeline, family: Any = family
            ) -> dict[str, Any]:
                count = len(spec.seeds)
                negative = spec.negative_prompt or family.blank_negative
                started, cpu = time.perf_counter(), time.process_time()
                images = pipeline(
                    prompt=[spec.prompt] * count,
                    **({"negative_prompt": [negative] * count} if family.negative_prompt else {}),
                    **family.guidance_inputs(pipeline, spec.guidance, bool(negative)),
                    width=spec.width,
                    height=spec.height,
                    num_inference_steps=spec.steps,
                    generator=[torch.Generator("cpu").manual_seed(seed) for seed in spec.seeds],
                ).images
                _common.sync()
                return {
                    "wall": time.perf_counter() - started,
                    "cpu": time.process_time() - cpu,
                    "images": images,
                }

            # One untimed run each: loading, allocator and kernel selection are not overhead.
            first_ours, first_bare = await ours(), bare()
            difference = max(
                float(np.abs(np.asarray(a, np.float32) - np.asarray(b, np.float32)).max())
                for a, b in zip(first_ours["images"], first_bare["images"], strict=True)
            )

            runs: dict[str, list[dict[str, Any]]] = {"ours": [], "bare": []}
            for repeat in range(repeats):
                for which in ("ours", "bare") if repeat % 2 == 0 else ("bare", "ours"):
                    runs[which].append(await ours() if which == "ours" else bare())

            def of(which: str, key: str, runs: dict[str, Any] = runs) -> list[float]:
                return [float(run[key]) for run in runs[which]]

            ours_s, bare_s = _common.median(of("ours", "wall")), _common.median(of("bare", "wall"))
            rows.append(
                {
                    "prompt flags": case or "(preset default)",
                    "model": spec.model,
                    "family": family.name,
                    "size": f"{spec.width}x{spec.height}",
                    "steps": spec.steps,
                    "ours s": ours_s,
                    "bare s": bare_s,
                    "ratio": ours_s / bare_s,
                    "ratio of minima": min(of("ours", "wall")) / min(of("bare", "wall")),
                    "CPU-s ratio": _common.median(of("ours", "cpu"))
                    / _common.median(of("bare", "cpu")),
                    "plan ms": 1000 * _common.median(of("ours", "plan")),
                    "worker s": _common.median(of("ours", "worker")),
                    "max pixel diff": difference,
                    "ours all s": [round(value, 4) for value in of("ours", "wall")],
                    "bare all s": [round(value, 4) for value in of("bare", "wall")],
                    "ours all CPU-s": [round(value, 4) for value in of("ours", "cpu")],
                    "bare all CPU-s": [round(value, 4) for value in of("bare", "cpu")],
                }
            )
    finally:
        runner.close()

    preset_rows = [row for row in rows if row["model"] not in family_models]
    family_rows = [row for row in rows if row["model"] in family_models]
    worst = max(row["ratio"] for row in preset_rows)
    worst_family = max(row["ratio"] for row in family_rows)
    worst_family_cpu = max(row["CPU-s ratio"] for row in family_rows)
    worst_minima = max(row["ratio of minima"] for row in rows)
    worst_cpu = max(row["CPU-s ratio"] for row in rows)
    _common.report(
        "overhead",
        args,
        [
            "prompt flags",
            "model",
            "family",
            "size",
            "steps",
            "ours s",
            "bare s",
            "ratio",
            "ratio of minima",
            "CPU-s ratio",
            "plan ms",
            "worker s",
            "max pixel diff",
        ],
        rows,
        parameters={"prompt": args.prompt, "repeats": repeats, "model": args.model},
        summary={
            "worst ratio (ours / bare, medians)": worst,
            "worst family ratio": worst_family,
            "worst family CPU-seconds ratio": worst_family_cpu,
            "family target": f"<= {FAMILY_TARGET}",
            "worst ratio of minima": worst_minima,
            "worst CPU-seconds ratio": worst_cpu,
            "target": f"<= {TARGET}",
        },
        notes=[
            "ratio: of the medians of interleaved repetitions; ratio of minima: of the fastest "
            "run of each; CPU-s ratio: of the medians of the process's CPU seconds (all "
            "threads), which other processes on a shared machine disturb less than wall time",
            "'max pixel diff' compares our images with the bare call's (0: the same arguments "
            "reached diffusers)",
        ],
    )


def _noop() -> None:
    pass


def main() -> None:
    parse = _common.parser("overhead", __doc__.splitlines()[0])
    parse.add_argument("--prompt", default=PROMPT)
    parse.add_argument("--model", help="model preset (default: the settings' default_model)")
    parse.add_argument("--repeats", type=int, default=10, help="timed runs of each (default 10)")
    asyncio.run(measure(parse.parse_args()))


if __name__ == "__main__":
    main()
