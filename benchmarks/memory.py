"""Memory: peak RSS (and peak VRAM on a GPU) per model preset and action.

Each (preset, action) runs in a fresh Python process, so one peak never hides another: the
process imports the engine, loads the preset and runs the action once through the same code
the bot uses. Actions: ``imagine`` (a text-to-image grid), ``draft`` (the same with
``--draft``) and ``upscale`` (a Subtle 2x of one image of the preset's size with randomly
initialised Real-ESRGAN weights of the configured network). "peak - imports" is what the
action costs on top of the libraries themselves.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common

ACTIONS = ("imagine", "draft", "upscale")
PROMPT = "a lighthouse at dusk, oil painting --seed 42"
MIB = 2**20


def measure(args: Any) -> None:
    settings = _common.settings(args)
    presets = args.preset or [settings.default_model]
    rows = []
    for preset in presets:
        for action in args.action or ACTIONS:
            command = [sys.executable, __file__, "--child", preset, action]
            if args.smoke:
                command.append("--smoke")
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise SystemExit(f"{preset}/{action} failed:\n{done.stdout}{done.stderr}")
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    _common.report(
        "memory",
        args,
        [
            "preset",
            "action",
            "size",
            "imports MiB",
            "peak RSS MiB",
            "peak - imports MiB",
            "peak VRAM MiB",
            "seconds",
        ],
        rows,
        parameters={"actions": list(args.action or ACTIONS), "presets": presets},
        notes=["one fresh process per row: import, load the preset, run the action once"],
    )


def child(preset: str, action: str, smoke: bool) -> None:
    """Run one action in this process and print its memory figures as one JSON line."""
    import torch

    from imagine_bot.engine.control import JobControl
    from imagine_bot.engine.models import ModelRegistry
    from imagine_bot.plugins.manager import build_plugin_manager
    from imagine_bot.plugins.planner import JobPlanner
    from imagine_bot.plugins.runner import JobRunner

    args = _common.parser("memory", "").parse_args(["--smoke"] if smoke else [])
    settings = _common.settings(args)
    imports = _rss()
    started = time.perf_counter()
    if action == "upscale":
        side = settings.models[preset].resolution
        size = f"{side}x{side} -> {2 * side}x{2 * side}"
        _upscale(settings, side, smoke)
    else:
        manager = build_plugin_manager(settings)
        text = f"{PROMPT} --draft" if action == "draft" else PROMPT
        (spec,) = asyncio.run(JobPlanner(settings, manager).plan(text, model=preset))
        size = f"4x {spec.width}x{spec.height}, {spec.steps} steps"
        runner = JobRunner(manager, ModelRegistry(settings))
        try:
            runner.submit(spec, JobControl()).result()
        finally:
            runner.close()
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    vram = torch.cuda.max_memory_allocated() / MIB if torch.cuda.is_available() else None
    row = {
        "preset": preset,
        "action": action,
        "size": size,
        "imports MiB": round(imports / MIB),
        "peak RSS MiB": round(peak / MIB),
        "peak - imports MiB": round((peak - imports) / MIB),
        "peak VRAM MiB": round(vram) if vram is not None else None,
        "seconds": seconds,
    }
    print(json.dumps(row))


def _upscale(settings: Any, side: int, smoke: bool) -> None:
    import upscale as upscale_benchmark  # benchmarks/upscale.py: random official-size weights

    from imagine_bot.engine.upscale import Upscaler

    model = settings.upscale.subtle_model
    with tempfile.TemporaryDirectory(prefix="memory-bench-") as scratch:
        weights = upscale_benchmark.write_weights(model, Path(scratch), smoke)
        update = {f"{model}_weights": weights}
        settings = settings.model_copy(
            update={"upscale": settings.upscale.model_copy(update=update)}
        )
        image, warning = Upscaler(settings).upscale(upscale_benchmark.test_image(side), 2)
        assert image.size == (2 * side, 2 * side) and warning is None, warning


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        child(sys.argv[2], sys.argv[3], "--smoke" in sys.argv[4:])
        return
    parse = _common.parser("memory", __doc__.splitlines()[0])
    parse.add_argument(
        "--preset", action="append", help="model preset (repeatable; default: the default model)"
    )
    parse.add_argument(
        "--action", action="append", choices=ACTIONS, help="repeatable (default: all)"
    )
    measure(parse.parse_args())


if __name__ == "__main__":
    main()
