"""The Docker image and compose file, checked without a Docker engine (there is none in CI):
hadolint on the Dockerfile, the layer order that keeps the CUDA wheels cached, the health
check's own command against a real /healthz, and the compose file's GPU, volumes and settings.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from imagine_bot.app import ImagineApp
from imagine_bot.config import load_settings
from tests.support.ops_server import ops_server

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_hadolint_passes() -> None:
    done = subprocess.run(
        [str(HADOLINT), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_is_slim_python_and_runs_as_a_user() -> None:
    found = instructions()
    bases = [arguments for name, arguments in found if name == "FROM"]
    assert bases == ["python:3.11-slim"]  # torch's CUDA 13 wheels bring their own libraries
    users = [arguments for name, arguments in found if name == "USER"]
    assert users == ["${UID}:${GID}"]
    assert ("CMD", '["imagine-bot", "run"]') in found
    envs = " ".join(arguments for name, arguments in found if name == "ENV")
    # Reachable through the published port; the database and images on the /data volume.
    assert "IMAGINE_WEB__LISTEN=0.0.0.0:" in envs and "IMAGINE_PATHS__DATA_DIR=/data" in envs


def test_dependencies_are_installed_before_the_code_is_copied() -> None:
    found = instructions()
    steps = [f"{name} {arguments}" for name, arguments in found]
    copy_code = steps.index("COPY imagine_bot ./imagine_bot")
    install_deps = next(n for n, step in enumerate(steps) if "-r requirements.txt" in step)
    assert steps.index("COPY pyproject.toml constraints.txt ./") < install_deps < copy_code
    assert any("pip install --no-deps ." in step for step in steps[copy_code:])


def test_the_requirements_step_lists_exactly_the_projects_dependencies(tmp_path: Path) -> None:
    (step,) = [arguments for name, arguments in instructions() if "requirements.txt" in arguments]
    command = step.split(" > requirements.txt")[0]
    assert command.startswith("python -c ")
    command = f"{sys.executable}{command.removeprefix('python')}"
    (tmp_path / "pyproject.toml").write_bytes((ROOT / "pyproject.toml").read_bytes())
    done = subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert done.stdout.split() == project["dependencies"]


def healthcheck_command(port: int) -> list[str]:
    (check,) = [arguments for name, arguments in instructions() if name == "HEALTHCHECK"]
    command: list[str] = json.loads(check.split("CMD", 1)[1])
    assert command[0] == "python" and "/healthz" in command[-1]
    listen = next(
        arguments
        for name, arguments in instructions()
        if name == "ENV" and "IMAGINE_WEB__LISTEN" in arguments
    )
    image_port = re.search(r"IMAGINE_WEB__LISTEN=0\.0\.0\.0:(\d+)", listen)
    assert image_port is not None and f":{image_port[1]}/healthz" in command[-1]
    return [sys.executable, *command[1:-1], command[-1].replace(image_port[1], str(port))]


@pytest.fixture
async def health_server(
    tmp_path: Path, test_env: dict[str, str]
) -> AsyncIterator[tuple[ImagineApp, str]]:
    env = {**test_env, "IMAGINE_PATHS__DATA_DIR": str(tmp_path), "IMAGINE_ENGINE__WARM_UP": "false"}
    async with ops_server(load_settings(env=env)) as served:
        yield served


async def run_check(command: list[str]) -> int:
    process = await asyncio.create_subprocess_exec(*command)
    return await asyncio.wait_for(process.wait(), timeout=60)


async def test_the_health_check_command_follows_healthz(
    health_server: tuple[ImagineApp, str],
) -> None:
    app, base_url = health_server
    port = int(base_url.rsplit(":", 1)[1])
    command = healthcheck_command(port)
    # No warm-up: healthy once the worker runs; the first job loads the model.
    assert await run_check(command) == 0
    app.workers.close()  # the worker is gone: 503, and the check fails
    assert await run_check(command) != 0


def test_compose_reserves_the_gpu_and_mounts_volumes_and_the_settings_file() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    (service,) = compose["services"].values()
    (device,) = service["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    mounts = {volume.split(":")[1]: volume for volume in service["volumes"]}
    settings_path = service["environment"]["IMAGINE_CONFIG"]
    assert mounts[settings_path].endswith(":ro")
    assert {"/data", "/models"} <= set(mounts)
    assert service["user"] == "${UID:-1000}:${GID:-1000}"
    assert "DISCORD_TOKEN" in service["environment"]
    assert service["ports"] == ["127.0.0.1:8765:8765"]


def test_the_build_context_holds_only_what_the_image_copies() -> None:
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    copied = {
        source
        for name, arguments in instructions()
        if name == "COPY"
        for source in arguments.split()[:-1]
    }
    assert "*" in ignored
    assert {f"!{source}" for source in copied} <= {line.rstrip("/") for line in ignored}
