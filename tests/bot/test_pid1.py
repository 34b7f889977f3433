"""``imagine-bot run`` as PID 1, as in a container: ``docker stop`` sends SIGTERM to PID 1, which
the kernel delivers only to a process that handles it. Run in its own PID namespace
(``unshare --pid --fork --mount-proc``) against the fake Discord, the bot gets SIGTERM in the
middle of a job and must exit cleanly within 10 s (Docker's default grace before SIGKILL) with
the job back in the queue, to run again at the next start."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.discord_server import FakeDiscord

SCRIPT = Path(sys.executable).parent / "imagine-bot"
UNSHARE = shutil.which("unshare")
START_SECONDS = 180.0
STOP_SECONDS = 10.0
"""Docker's default grace period between SIGTERM and SIGKILL."""


def namespaces_available() -> bool:
    if UNSHARE is None:
        return False
    probe = [UNSHARE, "--pid", "--fork", "--mount-proc", "true"]
    return subprocess.run(probe, capture_output=True, timeout=30).returncode == 0


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not namespaces_available(), reason="needs util-linux unshare and the right to use it"
    ),
]


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    with FakeDiscord(interaction_deadline=None) as server:
        yield server


def pid_one(outer: subprocess.Popen[bytes]) -> int:
    """The host pid of PID 1 of the namespace: the child unshare forked."""
    children = Path(f"/proc/{outer.pid}/task/{outer.pid}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


def test_sigterm_to_pid_1_requeues_the_running_job_and_exits(
    fake: FakeDiscord, test_env: dict[str, str], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    env = {
        **os.environ,
        **test_env,
        **fake.env(),
        "IMAGINE_PATHS__DATA_DIR": str(data_dir),
        # A long job, so SIGTERM finds it running.
        "IMAGINE_MODELS__TINY__STEPS": "200",
        "IMAGINE_ENGINE__WARM_UP": "false",
    }
    log = (tmp_path / "bot.log").open("wb")
    # --kill-child: should the test fail, killing unshare ends the namespace's PID 1 too.
    command = [UNSHARE or "unshare", "--pid", "--fork", "--mount-proc", "--kill-child"]
    command += [str(SCRIPT), "run"]
    outer = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)

    def output() -> str:
        log.flush()
        return (tmp_path / "bot.log").read_text(errors="replace")[-6000:]

    def alive() -> bool:
        """For wait loops: fail at once, with the bot's output, if the bot has exited."""
        if outer.poll() is not None:
            raise AssertionError(f"imagine-bot exited with {outer.returncode}:\n{output()}")
        return True

    try:
        fake.wait_until(
            lambda: alive() and any(s.ready for s in fake.sessions.values()),
            timeout=START_SECONDS,
            what="the bot to connect",
        )
        fake.send_command("imagine", {"prompt": "a lighthouse at dusk"})
        fake.wait_until(
            lambda: alive() and any("(0%)" in m["content"] for m in fake.channel_messages()),
            timeout=START_SECONDS,
            what="the job to start",
        )
        os.kill(pid_one(outer), signal.SIGTERM)
        try:
            outer.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            message = f"still running {STOP_SECONDS} s after SIGTERM:\n{output()}"
            raise AssertionError(message) from None
    finally:
        if outer.poll() is None:
            outer.kill()
            outer.wait(timeout=30)
        log.close()

    assert outer.returncode == 0, output()
    with sqlite3.connect(data_dir / "imagine.db") as database:
        jobs = database.execute("SELECT state, attempts, started_at FROM jobs").fetchall()
    assert jobs == [("queued", 0, None)], output()
