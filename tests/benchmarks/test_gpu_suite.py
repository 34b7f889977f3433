"""The GPU suite (``benchmarks/gpu/run.sh``) dry-runs on the CPU, so it is ready the day a
GPU is lent: every item runs at smoke sizes and writes its JSON; the wheel list covers what
the device machine lacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "benchmarks" / "gpu"
ITEMS = ("gpu_grid", "upscale", "postedit", "workers", "gpu_transformers")


@pytest.mark.slow
def test_the_gpu_suite_runs_on_the_cpu(test_env: dict[str, str], tmp_path: Path) -> None:
    done = subprocess.run(
        ["bash", str(SUITE / "run.sh"), "--cpu-smoke"],
        cwd=ROOT,
        env={**os.environ, **test_env, "OUT": str(tmp_path), "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for item in ITEMS:
        result = json.loads((tmp_path / f"{item}.json").read_text())
        assert result["benchmark"] == item and result["smoke"] is True and result["rows"]
        assert f"== {item}" in done.stdout


def test_the_wheel_list_pins_what_the_device_lacks() -> None:
    wheels = {
        line.split("==")[0].lower().replace("_", "-"): line.split("==")[1]
        for line in (SUITE / "wheels.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    pins = {
        line.split("==")[0].lower().replace("_", "-"): line.split("==")[1]
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line
    }
    assert {"diffusers", "pydantic", "pydantic-core", "sqlmodel", "sqlalchemy"} <= set(wheels)
    assert "torchao" in wheels  # engine.dtype = "fp8"
    assert {name: pins.get(name) for name in wheels} == wheels  # the versions CI tests
