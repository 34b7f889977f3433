"""The README's test command on a fresh machine: scripts/test.sh installs Debian's chromium when
it is missing, then makes the venv and runs pytest. Run here against stand-ins for apt-get, sudo
and Python that record what they were asked to do."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

RECORDER = """#!/bin/bash
echo "$(basename "$0") $*" >> "{log}"
"""
# apt-get "installs" chromium by putting a chromium on PATH, as Debian's package does.
APT_GET = (
    RECORDER
    + """if [ "$1" = install ]; then printf '#!/bin/bash\\n' > "{bin}/chromium"; \
chmod +x "{bin}/chromium"; fi
"""
)
# python3 -m venv .venv: a venv whose pip and python record their arguments.
PYTHON3 = (
    RECORDER
    + """mkdir -p .venv/bin
for tool in pip python; do printf '#!/bin/bash\\necho "%s $*" >> "{log}"\\n' "$tool" \
> .venv/bin/$tool; chmod +x .venv/bin/$tool; done
"""
)


def fresh_machine(tmp_path: Path, *, root: bool) -> tuple[Path, Path, dict[str, str]]:
    """A checkout holding only the script, and a PATH with no chromium and no real Python."""
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "test.sh", checkout / "scripts" / "test.sh")
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    for tool in ("dirname", "basename", "mkdir", "chmod"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    user_id = "0" if root else "1000"
    stand_ins = {
        "apt-get": APT_GET,
        "sudo": RECORDER + 'exec "$@"\n',
        "python3": PYTHON3,
        "id": f"#!/bin/bash\necho {user_id}\n",
    }
    for name, body in stand_ins.items():
        (bin_dir / name).write_text(body.format(log=log, bin=bin_dir))
        (bin_dir / name).chmod(0o755)
    return checkout, log, {"PATH": str(bin_dir), "HOME": os.environ.get("HOME", "/")}


def run_script(checkout: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/bash", str(checkout / "scripts" / "test.sh"), "-x", "tests/cli"],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_fresh_machine_gets_chromium_then_the_venv_then_pytest(tmp_path: Path) -> None:
    checkout, log, env = fresh_machine(tmp_path, root=False)
    done = run_script(checkout, env)
    assert done.returncode == 0, done.stdout + done.stderr
    calls = log.read_text().splitlines()
    assert calls == [
        "sudo apt-get update -qq",
        "apt-get update -qq",
        "sudo apt-get install -y -qq chromium",
        "apt-get install -y -qq chromium",
        "python3 -m venv .venv",
        "pip install -q -c constraints.txt -e .[test]",
        "python -m pytest -x tests/cli",
    ]


def test_chromium_and_the_venv_already_there_are_kept(tmp_path: Path) -> None:
    checkout, log, env = fresh_machine(tmp_path, root=True)
    assert run_script(checkout, env).returncode == 0
    log.unlink()
    done = run_script(checkout, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert log.read_text().splitlines() == [
        "pip install -q -c constraints.txt -e .[test]",
        "python -m pytest -x tests/cli",
    ]
