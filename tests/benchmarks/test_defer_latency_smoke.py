"""benchmarks/defer_latency.py still runs: its --smoke mode, end to end, writing its JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_defer_latency_benchmark_runs_in_smoke_mode(tmp_path: Path) -> None:
    out = tmp_path / "defer_latency.json"
    done = subprocess.run(
        [sys.executable, "benchmarks/defer_latency.py", "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text())
    assert result["benchmark"] == "defer_latency" and result["smoke"] is True
    rows = result["rows"]
    phases = [row["phase"].split(" (")[0].split(",")[0] for row in rows]
    assert phases == ["cold", "paced", "burst of 3", "U1 clicks"]
    for row in rows:
        # Smoke timings mean nothing: only that every interaction got an answer, in time or not.
        assert row["answered"] + row["late (refused)"] == row["interactions"] > 0
        if row["answered"]:
            assert 0 < row["p50 ms"] <= row["p99 ms"] <= row["max ms"]
    assert "| phase |" in done.stdout
