"""The wheel and its pins: what plugin authors and packagers get from `pip install imagine-bot`."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def test_the_build_backend_understands_the_spdx_license_field() -> None:
    # `license = "MIT"` (a PEP 639 expression) is an error before setuptools 77.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "MIT"
    (setuptools,) = [Requirement(r) for r in pyproject["build-system"]["requires"]]
    assert setuptools.name == "setuptools"
    assert not setuptools.specifier.contains("76.9") and setuptools.specifier.contains("77")


def test_every_pin_is_something_installed_here() -> None:
    """A pin nobody needs is a pin nobody updates: each names a package this venv holds, or an
    optional extra's package that the tests leave out (torchao for fp8 needs a recent GPU)."""
    names = [
        re.split(r"==", line)[0].strip()
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(names) == len({name.lower() for name in names}), "a package is pinned twice"
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    optional = {
        Requirement(requirement).name.lower()
        for extra, requirements in extras["optional-dependencies"].items()
        if extra != "test"
        for requirement in requirements
    }
    missing = []
    for name in names:
        try:
            metadata.distribution(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
    assert [name for name in missing if name.lower() not in optional] == []


@pytest.mark.slow
def test_the_wheel_carries_the_license_and_the_typing_marker(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = tmp_path.glob("imagine_bot-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "imagine_bot/py.typed" in names
    (license_file,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    text = zipfile.ZipFile(wheel).read(license_file).decode()
    assert "MIT License" in text and "imagine-bot contributors" in text
