"""The ``imagine-bot`` command line, run as a user runs it: the installed console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from PIL import Image

SCRIPT = Path(sys.executable).parent / "imagine-bot"


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=300
    )


def test_parse_json_resolves_the_example(test_env: dict[str, str]) -> None:
    done = run("parse", "a red fox --ar 3:2 --no text, watermark --seed 42", "--json", env=test_env)
    assert done.returncode == 0, done.stderr
    (job,) = json.loads(done.stdout)
    assert Fraction(job["width"], job["height"]) == Fraction(3, 2)
    assert "text" in job["negative_prompt"] and "watermark" in job["negative_prompt"]
    assert job["seeds"] == [42, 43, 44, 45]
    assert job["model"] == "tiny" and job["steps"] == 4 and job["guidance"] == 5.0
    assert job["flags"] == {"ar": "3:2", "no": ["text", "watermark"], "seed": 42}


def test_parse_prints_one_entry_per_job_and_the_warnings(test_env: dict[str, str]) -> None:
    done = run("parse", "a {red, blue} fox --weird 10", env=test_env)
    assert done.returncode == 0, done.stderr
    assert "job 1 of 2" in done.stdout and "job 2 of 2" in done.stdout
    assert "a blue fox" in done.stdout
    assert "warning: --weird has no effect" in done.stderr


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ("a fox --seed -1", "--seed takes a whole number from 0 to 4294967295"),
        ("a fox --arr 16:9", "Did you mean --ar?"),
        ("a {fox", "Unbalanced braces"),
    ],
)
def test_parse_errors_exit_2_with_a_message_and_no_traceback(
    test_env: dict[str, str], prompt: str, message: str
) -> None:
    done = run("parse", prompt, env=test_env)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


@pytest.mark.parametrize(
    ("prompt", "message"),
    [("a fox --ar 3:" + "2" * 3000, "--ar takes"), ("a fox --seed " + "9" * 3000, "--seed takes")],
)
def test_errors_quote_a_long_value_shortened(
    test_env: dict[str, str], prompt: str, message: str
) -> None:
    done = run("parse", prompt, env=test_env)
    assert done.returncode == 2 and message in done.stderr
    assert "…" in done.stderr and len(done.stderr) < 400


def test_settings_errors_quote_a_long_value_shortened(
    test_env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "imagine.toml"
    config.write_text(f'[engine]\ndevice = "{"x" * 3000}"\n')
    done = run("--config", str(config), "parse", "a fox", env=test_env)
    assert done.returncode == 2 and "is not a device" in done.stderr
    assert "…" in done.stderr and len(done.stderr) < 600


def test_bad_settings_exit_2_naming_the_file(test_env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "imagine.toml"
    config.write_text("[engine]\ndevice = 3\n")
    done = run("--config", str(config), "parse", "a fox", env=test_env)
    assert done.returncode == 2
    assert f"{config}: engine.device" in done.stderr and "Traceback" not in done.stderr


def test_plugins_lists_built_ins_and_their_hooks(test_env: dict[str, str]) -> None:
    done = run("plugins", env=test_env)
    assert done.returncode == 0, done.stderr
    assert "builtin.grammar  (built in)\n    imagine_parse" in done.stdout


@pytest.mark.slow
def test_imagine_writes_a_grid_and_four_images(test_env: dict[str, str], tmp_path: Path) -> None:
    done = run(
        "imagine", "a lighthouse at dusk --ar 2:1 --seed 3", "-o", str(tmp_path), env=test_env
    )
    assert done.returncode == 0, done.stderr
    paths = [Path(line.split(maxsplit=1)[1]) for line in done.stdout.splitlines()]
    assert [path.parent for path in paths] == [tmp_path] * 5
    with Image.open(paths[0]) as grid, Image.open(paths[1]) as first:
        assert grid.size == (first.size[0] * 2, first.size[1] * 2)
        assert first.size[0] == 2 * first.size[1]
        assert "Seed: 3," in first.info["parameters"]
    assert "imagine: 100%" in done.stderr
