"""Grid batching: the four variants of a grid in one batched call vs four single-image calls.

Both use the resident pipeline of each preset with the same prompt, size, steps, guidance and
seeds (one generator per image, as the engine does). Interleaved, alternating which goes first;
the ratio is batched / four singles of the medians: below 1 batching pays. On a CPU the work is
already compute-bound, so expect about 1; on a GPU a small image does not fill the device and
batching is where the grid's time is won.
"""

from __future__ import annotations

import time
from typing import Any

import _common

GRID = 4
PROMPT = "a lighthouse at dusk, oil painting"
NEGATIVE = "blurry"


def measure(args: Any) -> None:
    import torch

    from imagine_bot.engine.gpu.models import ModelRegistry

    settings = _common.settings(args)
    registry = ModelRegistry(settings)
    registry.claim_thread()
    presets = args.preset or [settings.default_model]
    repeats = 1 if args.smoke else args.repeats
    rows = []
    for name in presets:
        preset = settings.models[name]
        pipeline = registry.pipeline(name)
        pipeline.scheduler = registry.fresh_scheduler(pipeline, preset.scheduler)
        steps = args.steps or preset.steps
        sizes = [preset.resolution] if args.smoke else (args.sizes or _default_sizes(preset))
        for size in sizes:

            def run(
                seeds: list[int],
                size: int = size,
                steps: int = steps,
                pipeline: Any = pipeline,
                guidance: float = preset.guidance,
            ) -> None:
                pipeline(
                    prompt=[PROMPT] * len(seeds),
                    negative_prompt=[NEGATIVE] * len(seeds),
                    width=size,
                    height=size,
                    num_inference_steps=steps,
                    guidance_scale=guidance,
                    generator=[torch.Generator("cpu").manual_seed(seed) for seed in seeds],
                )

            def batched() -> None:
                run(list(range(GRID)))

            def singles() -> None:
                for seed in range(GRID):
                    run([seed])

            # Warm-up: allocator and kernel selection for both shapes.
            batched()
            singles()
            batched_times, single_times, batched_cpu, single_cpu = [], [], [], []
            for repeat in range(repeats):
                order = (batched, singles) if repeat % 2 == 0 else (singles, batched)
                for function in order:
                    cpu = time.process_time()
                    seconds = _common.timed(function)
                    cpu = time.process_time() - cpu
                    if function is batched:
                        batched_times.append(seconds)
                        batched_cpu.append(cpu)
                    else:
                        single_times.append(seconds)
                        single_cpu.append(cpu)
            batched_s = _common.median(batched_times)
            singles_s = _common.median(single_times)
            rows.append(
                {
                    "preset": name,
                    "size": f"{size}x{size}",
                    "steps": steps,
                    "guidance": preset.guidance,
                    "batched s": batched_s,
                    "4 singles s": singles_s,
                    "ratio": batched_s / singles_s,
                    "ratio of minima": min(batched_times) / min(single_times),
                    "CPU-s ratio": _common.median(batched_cpu) / _common.median(single_cpu),
                    "images/s batched": GRID / batched_s,
                    "batched all s": [round(value, 4) for value in batched_times],
                    "4 singles all s": [round(value, 4) for value in single_times],
                }
            )
    _common.report(
        "grid_batching",
        args,
        [
            "preset",
            "size",
            "steps",
            "guidance",
            "batched s",
            "4 singles s",
            "ratio",
            "ratio of minima",
            "CPU-s ratio",
            "images/s batched",
        ],
        rows,
        parameters={
            "repeats": repeats,
            "device": str(registry.device),
            "dtype": str(registry.dtype),
        },
        summary={"ratio range (batched / 4 singles)": _range(row["ratio"] for row in rows)},
        notes=["ratio < 1: one batched call is faster than four single calls"],
    )


def _default_sizes(preset: Any) -> list[int]:
    """Half, three quarters and all of the preset's side, in multiples of 64."""
    return sorted({max(64, preset.resolution * k // 4 // 64 * 64) for k in (2, 3, 4)})


def _range(values: Any) -> str:
    values = list(values)
    return f"{min(values):.3f} - {max(values):.3f}"


def main() -> None:
    parse = _common.parser("grid_batching", __doc__.splitlines()[0])
    parse.add_argument(
        "--preset", action="append", help="model preset (repeatable; default: the default model)"
    )
    parse.add_argument(
        "--sizes",
        type=lambda text: [int(side) for side in text.split(",")],
        help="square sides, e.g. 128,256",
    )
    parse.add_argument("--steps", type=int, help="sampling steps (default: the preset's)")
    parse.add_argument("--repeats", type=int, default=3, help="timed runs of each (default 3)")
    measure(parse.parse_args())


if __name__ == "__main__":
    main()
