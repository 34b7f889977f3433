"""Every benchmark script still runs: its ``--smoke`` mode, end to end, in a subprocess.

Every ``benchmarks/*.py`` script is found and run, so a new one is covered from the start.
Nothing here asserts on time. Each run must exit cleanly, print its table and write JSON with
the machine and its rows; ``CHECKS`` adds what each script must have measured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BENCHMARKS = ROOT / "benchmarks"
Result = dict[str, Any]


def check_overhead(result: Result) -> None:
    (row,) = result["rows"]
    # The bare call got exactly the arguments our stages gave diffusers.
    assert row["max pixel diff"] == 0
    assert row["ours s"] > 0 and row["bare s"] > 0 and row["ratio"] > 0


def check_grid_batching(result: Result) -> None:
    (row,) = result["rows"]
    assert row["preset"] == "tiny" and row["size"] == "64x64"
    assert row["batched s"] > 0 and row["4 singles s"] > 0


def check_draft(result: Result) -> None:
    (row,) = result["rows"]
    assert row["default"] == "tiny 64x64 2 steps" and row["draft"] == "tiny 64x64 1 steps"
    assert row["default GPU-s"] > 0 and row["draft GPU-s"] > 0


def check_memory(result: Result) -> None:
    rows = {row["action"]: row for row in result["rows"]}
    assert list(rows) == ["imagine", "draft", "vary_subtle", "zoom_out_2x", "upscale_subtle"]
    for row in rows.values():
        assert row["peak RSS MiB"] >= row["imports MiB"] > 0
    # the buttons really ran on the parent grid's image: Subtle upscale doubles it
    assert rows["upscale_subtle"]["size"] == "1x 128x128"
    assert rows["vary_subtle"]["size"].startswith("4x 64x64")


def check_gpu_grid(result: Result) -> None:
    variants = {(row["grid"].split(":")[0], row["variant"]) for row in result["rows"]}
    assert variants == {("grid", "bare"), ("grid", "ours"), ("draft", "bare"), ("draft", "ours")}
    summary = result["summary"]
    # Counted on the meta device from the written-out SDXL configs: the compute floor of
    # 1.7 s on an H100 that the issue quotes.
    assert 1600 < summary["real SDXL TFLOP per 1024^2 grid (30 steps, CFG)"] < 1700
    assert all(row["TFLOP per grid"] > 0 for row in result["rows"])


def check_event_loop(result: Result) -> None:
    idle, busy = result["rows"]
    assert idle["wake-ups"] > 0 and busy["wake-ups"] > 0
    # two jobs of two steps: every progress report reached the loop
    assert result["summary"]["progress events delivered"] == 4


def check_preview(result: Result) -> None:
    methods = [row["method"] for row in result["rows"]]
    assert methods == ["latent -> RGB preview (grid)", "tiny VAE decode"]
    assert all(row["seconds"] > 0 for row in result["rows"])
    assert result["parameters"]["latents"] == "4x4x8x8"


def check_workers(result: Result) -> None:
    assert [row["workers"] for row in result["rows"]] == [
        "1 worker",
        "2 workers",
        "1 worker, batched",
    ]
    assert all(row["grids/min"] > 0 for row in result["rows"])
    assert result["parameters"]["torch threads per worker"] == 1


def check_fuzz(result: Result) -> None:
    counts = {row["outcome"]: row["prompts"] for row in result["rows"]}
    assert counts["unexpected"] == 0, result["notes"]
    assert counts["planned"] > 0 and counts["user error"] > 0
    assert sum(counts.values()) == result["parameters"]["prompts"]
    assert result["summary"]["slowest plan ms"] > 0


def check_defer_latency(result: Result) -> None:
    phases = [row["phase"].split(" (")[0].split(",")[0] for row in result["rows"]]
    assert phases == ["cold", "paced", "burst of 3", "U1 clicks"]
    for row in result["rows"]:
        # Smoke timings mean nothing: only that every interaction got an answer, in time or not.
        assert row["answered"] + row["late (refused)"] == row["interactions"] > 0
        if row["answered"]:
            assert 0 < row["p50 ms"] <= row["p99 ms"] <= row["max ms"]


def check_quota_throughput(result: Result) -> None:
    assert [(row["writers"], row["jobs"]) for row in result["rows"]] == [(1, 5), (2, 10)]
    for row in result["rows"]:
        assert row["jobs/s"] > 0 and 0 < row["p50 ms"] <= row["p99 ms"] <= row["max ms"]
    assert result["rows"][0]["x 1 writer"] == 1


def check_upscale(result: Result) -> None:
    rows = {row["model"]: row for row in result["rows"]}
    assert set(rows) == {"general_x4v3", "x2plus"}
    assert rows["general_x4v3"]["network"] == "SRVGGNetCompact x4"
    assert rows["x2plus"]["network"] == "RRDBNet x2"
    for row in rows.values():
        assert row["output"] == "48x48" and row["seconds"] > 0
    assert rows["general_x4v3"]["vs compact"] == 1


def check_postedit(result: Result) -> None:
    rows = {row["job"]: row for row in result["rows"]}
    assert rows["plain grid"]["images"] == "4x 64x64"
    assert rows["--hd grid"]["images"] == "4x 128x128"
    assert rows["Rerun as HD"]["images"] == "1x 128x128"
    assert rows["Fix Faces"]["images"] == "1x 128x128"
    assert rows["Vary (Region)"]["images"] == "4x 128x128"
    assert all(row["GPU-s"] > 0 for row in rows.values())
    assert result["summary"]["Fix Faces / Vary (Region)"] > 0


def check_provenance(result: Result) -> None:
    jobs = [row["job"] for row in result["rows"]]
    assert jobs == ["imagine (created)", "vary_subtle (edited, with parent)"]
    for row in result["rows"]:
        assert row["PNGs"] == 5 and row["GPU-s"] > 0
        assert row["encode + sign ms"] > row["encode ms"] > 0  # the signatures were made


def check_caching(result: Result) -> None:
    rows = {row["cache"]: row for row in result["rows"]}
    assert list(rows) == [
        "off",
        "first_block 0.08 (FLUX.1 auto)",
        "first_block 0.12 (FLUX.1 --draft)",
        "taylorseer 4",
    ]
    assert all(row["model"] == "smooth-flux" for row in rows.values())
    off = rows["off"]
    # Counted: one transformer call per step, 2 double + 6 single blocks each.
    assert off["transformer calls per image"] == off["steps"] == 4
    assert off["blocks run per image"] == 8 * 4 and off["blocks skipped"] == 0
    # TaylorSeer (interval 4) runs every block on steps 1-3 and skips them on the 4th.
    taylor = rows["taylorseer 4"]
    assert taylor["blocks run per image"] == 8 * 3 and taylor["metadata"] == "taylorseer 4"
    assert taylor["PSNR dB"] < off["PSNR dB"] == float("inf")
    assert rows["first_block 0.08 (FLUX.1 auto)"]["metadata"] == "first_block 0.08"


def check_gpu_transformers(result: Result) -> None:
    ran = {
        (row["model"], row["variant"], row.get("images")) for row in result["rows"] if "s" in row
    }
    variants = ("diffusers", "ours", "+compile", "+compile +cache")
    assert ran == {(m, v, n) for m in ("flux1-dev", "zimage") for v in variants for n in (1, 4)}
    fp8 = [row for row in result["rows"] if row["variant"].endswith("+fp8")]
    assert len(fp8) == 2 and all(row["note"].startswith("not run: ") for row in fp8)
    for row in result["rows"]:
        if row["variant"] == "ours" and "s" in row:
            assert row["PSNR vs ours dB"] == float("inf")
    summary = result["summary"]
    # Counted on the meta device from FLUX.1 [dev]'s config: 28 steps of about 75 TFLOP.
    assert 1.5 < summary["compute floor s, flux1-dev 1024^2 1 image"] < 3


CHECKS: dict[str, Callable[[Result], None]] = {
    "caching": check_caching,
    "gpu_transformers": check_gpu_transformers,
    "overhead": check_overhead,
    "grid_batching": check_grid_batching,
    "draft": check_draft,
    "memory": check_memory,
    "gpu_grid": check_gpu_grid,
    "event_loop": check_event_loop,
    "preview": check_preview,
    "workers": check_workers,
    "fuzz": check_fuzz,
    "defer_latency": check_defer_latency,
    "quota_throughput": check_quota_throughput,
    "upscale": check_upscale,
    "postedit": check_postedit,
    "provenance": check_provenance,
}


def only_the_common_checks(result: Result) -> None:
    pass


def scripts() -> list[str]:
    """Every benchmark script (``_common.py`` and the like are not scripts)."""
    return sorted(path.stem for path in BENCHMARKS.glob("*.py") if not path.stem.startswith("_"))


@pytest.mark.slow
@pytest.mark.parametrize("name", scripts())
def test_the_benchmark_runs_in_smoke_mode(
    name: str, test_env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / f"{name}.json"
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / f"{name}.py"), "--smoke", "--out", str(out)],
        cwd=ROOT,
        env={**os.environ, **test_env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text())
    assert result["benchmark"] == name and result["smoke"] is True
    assert result["machine"]["torch"] and result["machine"]["cores"]
    assert result["rows"] and f"| {result['columns'][0]} |" in done.stdout
    CHECKS.get(name, only_the_common_checks)(result)
