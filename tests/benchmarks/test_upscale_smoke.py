"""benchmarks/upscale.py still runs: its --smoke mode, end to end, writing its JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_upscale_benchmark_runs_in_smoke_mode(tmp_path: Path) -> None:
    out = tmp_path / "upscale.json"
    done = subprocess.run(
        [sys.executable, "benchmarks/upscale.py", "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text())
    assert result["benchmark"] == "upscale" and result["smoke"] is True
    rows = {row["model"]: row for row in result["rows"]}
    assert set(rows) == {"general_x4v3", "x2plus"}
    assert rows["general_x4v3"]["network"] == "SRVGGNetCompact x4"
    assert rows["x2plus"]["network"] == "RRDBNet x2"
    for row in rows.values():
        assert row["output"] == "48x48" and row["seconds"] > 0
    assert rows["general_x4v3"]["vs compact"] == 1
    assert "| model |" in done.stdout
