"""Memory: peak RSS (and peak VRAM on a GPU) per model preset and action.

Each (preset, action) runs in a fresh Python process, so one peak never hides another: the
process imports the engine, loads the preset and runs the action once through the same code
the bot uses (``JobPlanner`` + ``JobRunner``). ``imagine`` is a text-to-image grid and
``draft`` the same with ``--draft``; the others are the buttons under one image of a grid,
derived with ``JobPlanner.derive`` from a parent grid that an earlier process made and left in
the image store: ``vary_subtle`` (image-to-image), ``zoom_out_2x`` (outpainting) and
``upscale_subtle`` (Real-ESRGAN, with randomly initialised weights of the official size for
the configured network). "peak - imports" is what the action costs on top of the libraries.
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

ACTIONS = ("imagine", "draft", "vary_subtle", "zoom_out_2x", "upscale_subtle")
PROMPT = "a lighthouse at dusk, oil painting --seed 42"
MIB = 2**20


def measure(args: Any) -> None:
    settings = _common.settings(args)
    presets = args.preset or [settings.default_model]
    actions = args.action or list(ACTIONS)
    smoke = ["--smoke"] if args.smoke else []
    rows = []
    with tempfile.TemporaryDirectory(prefix="memory-bench-") as scratch:
        for preset in presets:
            parent = Path(scratch) / f"{preset}.json"
            _run([sys.executable, __file__, "--parent", preset, str(parent), *smoke])
            for action in actions:
                done = _run(
                    [sys.executable, __file__, "--child", preset, action, str(parent), *smoke]
                )
                rows.append(json.loads(done.strip().splitlines()[-1]))
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
        parameters={"actions": actions, "presets": presets},
        notes=["one fresh process per row: import, load the preset, run the action once"],
    )


def _run(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[2:])} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def make_parent(preset: str, out: Path, smoke: bool) -> None:
    """Run one grid, keep its first image in the image store, and write what the action
    processes need: the grid's spec, that image's hash and upscaler weights."""
    import upscale as upscale_benchmark  # benchmarks/upscale.py: official-size random weights

    from imagine_bot.engine.control import JobControl
    from imagine_bot.engine.gpu.models import ModelRegistry
    from imagine_bot.plugins.manager import build_plugin_manager
    from imagine_bot.plugins.planner import JobPlanner
    from imagine_bot.plugins.runner import JobRunner

    settings = _settings(smoke)
    manager = build_plugin_manager(settings)
    (spec,) = asyncio.run(JobPlanner(settings, manager).plan(PROMPT, model=preset))
    registry = ModelRegistry(settings)
    runner = JobRunner(manager, registry)
    try:
        result = runner.submit(spec, JobControl()).result()
    finally:
        runner.close()
    stored = registry.store.put(result.images[0])
    model = settings.upscale.subtle_model
    weights = upscale_benchmark.write_weights(model, out.parent, smoke)
    out.write_text(
        json.dumps(
            {
                "spec": spec.model_dump(mode="json"),
                "sha256": stored.sha256,
                "upscale_env": {f"IMAGINE_UPSCALE__{model.upper()}_WEIGHTS": str(weights)},
            }
        )
    )


def child(preset: str, action: str, parent_file: Path, smoke: bool) -> None:
    """Run one action in this process and print its memory figures as one JSON line."""
    import torch

    from imagine_bot.engine.control import JobControl
    from imagine_bot.engine.gpu.models import ModelRegistry
    from imagine_bot.engine.spec import GenerationSpec, SourceImage
    from imagine_bot.plugins.manager import build_plugin_manager
    from imagine_bot.plugins.planner import JobPlanner
    from imagine_bot.plugins.runner import JobRunner

    parent = json.loads(parent_file.read_text())
    settings = _settings(smoke, parent["upscale_env"])
    manager = build_plugin_manager(settings)
    planner = JobPlanner(settings, manager)
    imports = _rss()
    started = time.perf_counter()
    if action in ("imagine", "draft"):
        text = f"{PROMPT} --draft" if action == "draft" else PROMPT
        (spec,) = asyncio.run(planner.plan(text, model=preset))
    else:
        grid = GenerationSpec.model_validate(parent["spec"])
        source = SourceImage(sha256=parent["sha256"], index=1)
        (spec,) = asyncio.run(planner.derive(grid, action, 1, source))
    runner = JobRunner(manager, ModelRegistry(settings))
    try:
        result = runner.submit(spec, JobControl()).result()
    finally:
        runner.close()
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    vram = torch.cuda.max_memory_allocated() / MIB if torch.cuda.is_available() else None
    steps = "" if spec.upscale is not None and spec.strength is None else f", {spec.steps} steps"
    row = {
        "preset": preset,
        "action": action,
        "size": f"{len(result.images)}x {spec.width}x{spec.height}{steps}",
        "imports MiB": round(imports / MIB),
        "peak RSS MiB": round(peak / MIB),
        "peak - imports MiB": round((peak - imports) / MIB),
        "peak VRAM MiB": round(vram) if vram is not None else None,
        "seconds": seconds,
    }
    print(json.dumps(row))


def _settings(smoke: bool, overrides: dict[str, str] | None = None) -> Any:
    args = _common.parser("memory", "").parse_args(["--smoke"] if smoke else [])
    # Vary at strength 0.35 needs at least 3 steps to keep one (diffusers rounds down).
    steps = {"IMAGINE_MODELS__TINY__STEPS": "4"} if smoke else {}
    return _common.settings(args, {**steps, **(overrides or {})})


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main() -> None:
    role = sys.argv[1] if len(sys.argv) > 1 else ""
    if role in ("--parent", "--child"):
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        smoke = "--smoke" in sys.argv
        if role == "--parent":
            make_parent(sys.argv[2], Path(sys.argv[3]), smoke)
        else:
            child(sys.argv[2], sys.argv[3], Path(sys.argv[4]), smoke)
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
