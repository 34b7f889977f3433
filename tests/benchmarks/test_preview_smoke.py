"""benchmarks/preview.py still runs: its --smoke mode, end to end, writing its JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_preview_benchmark_runs_in_smoke_mode(tmp_path: Path) -> None:
    out = tmp_path / "preview.json"
    done = subprocess.run(
        [sys.executable, "benchmarks/preview.py", "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "IMAGINE_PATHS__DATA_DIR": str(tmp_path / "data")},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text())
    assert result["benchmark"] == "preview" and result["smoke"] is True
    methods = [row["method"] for row in result["rows"]]
    assert methods == ["latent -> RGB preview (grid)", "tiny VAE decode"]
    assert all(row["seconds"] > 0 for row in result["rows"])
    assert result["parameters"]["latents"] == "4x4x8x8"
    assert "| method |" in done.stdout
