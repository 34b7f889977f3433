"""benchmarks/quota_throughput.py still runs: its --smoke mode, end to end, writing its JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_quota_throughput_benchmark_runs_in_smoke_mode(tmp_path: Path) -> None:
    out = tmp_path / "quota_throughput.json"
    done = subprocess.run(
        [sys.executable, "benchmarks/quota_throughput.py", "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text())
    assert result["benchmark"] == "quota_throughput" and result["smoke"] is True
    assert [(row["writers"], row["jobs"]) for row in result["rows"]] == [(1, 5), (2, 10)]
    for row in result["rows"]:
        assert row["jobs/s"] > 0 and 0 < row["p50 ms"] <= row["p99 ms"] <= row["max ms"]
    assert result["rows"][0]["x 1 writer"] == 1
    assert "| writers | jobs |" in done.stdout
