"""Shared by the benchmark scripts: arguments, the machine, settings, timing, table and JSON.

Every script prints a Markdown table and writes JSON to ``benchmarks/results/NAME.json`` (or
``--out``). ``--smoke`` runs it at tiny sizes so CI checks that it still works; smoke timings
mean nothing and go to ``NAME.smoke.json``, which git ignores.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from imagine_bot.config import Settings
    from imagine_bot.plugins.planner import JobPlanner
    from imagine_bot.plugins.runner import JobRunner

RESULTS = Path(__file__).resolve().parent / "results"

# transformers announces at import that it runs without torchvision, which we never use.
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

# Tiny-model sizes for --smoke: a grid in well under a second on a CPU.
SMOKE_TINY_ENV = {
    "IMAGINE_MODELS__TINY__RESOLUTION": "64",
    "IMAGINE_MODELS__TINY__STEPS": "2",
    "IMAGINE_MODELS__TINY__DRAFT_RESOLUTION": "64",
    "IMAGINE_MODELS__TINY__DRAFT_STEPS": "1",
}


def parser(name: str, description: str) -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(prog=f"benchmarks/{name}.py", description=description)
    parse.add_argument(
        "--smoke", action="store_true", help="tiny sizes, for CI; timings mean nothing"
    )
    parse.add_argument(
        "--out", type=Path, help=f"JSON output (default benchmarks/results/{name}.json)"
    )
    return parse


def settings(args: argparse.Namespace, overrides: Mapping[str, str] | None = None) -> Any:
    """The bot's settings (IMAGINE_CONFIG and IMAGINE_* apply), plus smoke sizes and overrides."""
    from imagine_bot.config import load_settings

    env = dict(os.environ)
    if args.smoke:
        env.update(SMOKE_TINY_ENV)
    env.update(overrides or {})
    return load_settings(env=env)


def planner_and_runner(args: argparse.Namespace) -> tuple[Settings, JobPlanner, JobRunner]:
    """The settings, and the bot's planner and runner over the installed plugins."""
    from imagine_bot.engine.gpu.models import ModelRegistry
    from imagine_bot.plugins.manager import build_plugin_manager
    from imagine_bot.plugins.planner import JobPlanner
    from imagine_bot.plugins.runner import JobRunner

    loaded = settings(args)
    manager = build_plugin_manager(loaded)
    return loaded, JobPlanner(loaded, manager), JobRunner(manager, ModelRegistry(loaded))


def registry_of_family(settings: Settings, family: Any) -> Any:
    """A ``ModelRegistry`` for pipelines a script builds in memory (random weights of a real
    shape: not worth saving and loading back): every preset name is of ``family``. It lends
    the engine's ``run_pipeline`` its fresh schedulers and settings; it loads nothing."""
    from imagine_bot.engine.gpu.models import ModelRegistry

    class InMemory(ModelRegistry):
        def family(self, _: str) -> Any:
            return family

    return InMemory(settings)


def machine() -> dict[str, Any]:
    """Where and with what a result was measured."""
    import diffusers
    import torch
    import transformers

    info: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "transformers": transformers.__version__,
        "gpu": None,
    }
    if torch.cuda.is_available():
        properties = torch.cuda.get_device_properties(0)
        info["gpu"] = properties.name
        info["gpu_memory_gib"] = round(properties.total_memory / 2**30, 1)
        info["cuda"] = torch.version.cuda
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def sync() -> None:
    """Wait for queued GPU work, so a timer measures it (no-op on a CPU)."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(function: Callable[[], object]) -> float:
    sync()
    started = time.perf_counter()
    function()
    sync()
    return time.perf_counter() - started


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def report(
    name: str,
    args: argparse.Namespace,
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    *,
    parameters: Mapping[str, Any] | None = None,
    summary: Mapping[str, Any] | None = None,
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    """Print ``rows`` as a Markdown table (plus the summary) and write everything as JSON."""
    print(markdown_table(columns, rows))
    for key, value in (summary or {}).items():
        print(f"{key}: {_cell(value)}")
    for note in notes:
        print(f"note: {note}")
    payload = {
        "benchmark": name,
        "smoke": bool(args.smoke),
        "command": " ".join(["python", f"benchmarks/{name}.py", *sys.argv[1:]]),
        "machine": machine(),
        "parameters": dict(parameters or {}),
        "columns": list(columns),
        "rows": [dict(row) for row in rows],
        "summary": dict(summary or {}),
        "notes": list(notes),
    }
    out = args.out or RESULTS / (f"{name}.smoke.json" if args.smoke else f"{name}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(f"wrote {out}")
    return payload


def markdown_table(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    lines = [
        "| " + " | ".join(columns) + " |",
        "| " + " | ".join("---" for _ in columns) + " |",
    ]
    lines += [
        "| " + " | ".join(_cell(row.get(column)) for column in columns) + " |" for row in rows
    ]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)
