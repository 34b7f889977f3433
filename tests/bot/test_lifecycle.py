"""``imagine-bot run`` starting and stopping, as a process against the real-socket fake
Discord: one line when it is up, one line and exit 2 when it cannot log in, and SIGTERM puts
the running job back in the queue and ends the process."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from huggingface_hub.utils.tqdm import are_progress_bars_disabled, disable_progress_bars

from imagine_bot.app import ImagineApp
from imagine_bot.bot.client import ImagineBot
from imagine_bot.bot.lifecycle import PAUSED_NOTE, startup_line
from imagine_bot.config import load_settings
from imagine_bot.engine.gpu.models import ModelRegistry
from tests.bot.conftest import SIMCORD, World
from tests.bot.test_real_socket import (
    SCRIPT,
    START_SECONDS,
    BotProcess,
    wait_callback,
    wait_ready,
)
from tests.support.discord_server import FakeDiscord

EXIT_USAGE = 2
STOP_SECONDS = 60.0
"""A bound on waiting for the exit, not a measurement: the test prints how long it took."""


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    with FakeDiscord(interaction_deadline=None) as server:
        yield server


def env_for(fake: FakeDiscord, test_env: dict[str, str], data: Path) -> dict[str, str]:
    return {**test_env, "IMAGINE_PATHS__DATA_DIR": str(data), **fake.env()}


def run_to_exit(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), "run"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=START_SECONDS,
    )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_a_wrong_token_is_one_line_and_exit_2(
    fake: FakeDiscord, test_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**env_for(fake, test_env, tmp_path), "DISCORD_TOKEN": "not-the-token"}
    done = run_to_exit(env)
    assert done.returncode == EXIT_USAGE
    assert done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("imagine-bot: Discord refused the bot token") and "Reset Token" in line
    assert not fake.identifies


@pytest.mark.slow
def test_an_unreachable_discord_is_one_line_and_exit_2(
    fake: FakeDiscord, test_env: dict[str, str], tmp_path: Path
) -> None:
    nowhere = f"http://127.0.0.1:{closed_port()}/api/v10"
    env = {**env_for(fake, test_env, tmp_path), "DISCORD_API_BASE": nowhere}
    done = run_to_exit(env)
    assert done.returncode == EXIT_USAGE
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"imagine-bot: Could not reach Discord at {nowhere}")


@pytest.mark.slow
def test_start_up_line_then_sigterm_requeues_the_running_job(
    fake: FakeDiscord, test_env: dict[str, str], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    # Long enough on the tiny model that SIGTERM arrives while it runs.
    env = {**env_for(fake, test_env, data), "IMAGINE_MODELS__TINY__STEPS": "200"}
    bot = BotProcess(["run"], env, tmp_path / "bot.log")
    try:
        wait_ready(fake, bot)
        ready = fake.wait_until(
            lambda: next((ln for ln in bot.output().splitlines() if "ready as" in ln), None),
            timeout=START_SECONDS,
            what="the start-up line",
        )
        assert re.fullmatch(
            r"\S+ \S+ INFO +imagine_bot\.bot\.lifecycle: "
            r"ready as imagine-test-bot(#\d+)? in 1 server; device cpu \(float32\), "
            r"model tiny, web http://127\.0\.0\.1:\d+, "
            rf"data {re.escape(str(data.resolve()))}; invite: "
            rf"https://discord\.com/oauth2/authorize\?client_id={fake.application_id}\S*"
            r"scope=bot\+applications\.commands\S*",
            ready,
        ), ready
        sent = fake.send_command("imagine", {"prompt": "a lighthouse --q 4"})
        wait_callback(fake, bot, sent)
        fake.wait_until(
            lambda: any("%)" in m["content"] for m in fake.channel_messages()) or None,
            timeout=START_SECONDS,
            what="the job to run",
        )
        started = time.monotonic()
        os.kill(bot.process.pid, signal.SIGTERM)
        code = bot.process.wait(timeout=STOP_SECONDS)
        print(f"exited {time.monotonic() - started:.1f} s after SIGTERM")
        output = bot.output()
    finally:
        bot.stop()
    assert code == 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    print(output[-1500:])
    with sqlite3.connect(data / "imagine.db") as db:
        assert db.execute("select state, attempts from jobs").fetchall() == [("queued", 0)]


@pytest.mark.slow
def test_a_lost_gateway_is_503_and_one_line_per_reconnect(
    fake: FakeDiscord, test_env: dict[str, str], tmp_path: Path
) -> None:
    lora = tmp_path / "gone.safetensors"  # a broken path is logged at start, naming the setting
    env = {
        **env_for(fake, test_env, tmp_path / "data"),
        "IMAGINE_ENGINE__WARM_UP": "false",
        "IMAGINE_LORAS__GONE__SOURCE": str(lora),
        "IMAGINE_LORAS__GONE__FAMILY": "tiny",
    }
    bot = BotProcess(["run"], env, tmp_path / "bot.log")
    try:
        wait_ready(fake, bot)
        web = fake.wait_until(
            lambda: re.search(r"ready as .*, web (http://\S+), ", bot.output()),
            timeout=START_SECONDS,
            what="the start-up line",
        )[1]
        assert health(web) == (200, "ok\n")
        fake.stop()  # Discord unreachable: the socket drops and every reconnect fails
        _, text = fake.wait_until(
            lambda: answer if (answer := health(web))[0] == 503 else None,
            timeout=START_SECONDS,
            what="/healthz to turn 503",
        )
        assert text == "the bot is not connected to Discord's gateway\n"
        lost = fake.wait_until(
            lambda: (
                [ln for ln in bot.output().splitlines() if "lost the connection" in ln][1:] or None
            ),
            timeout=START_SECONDS,
            what="two reconnect attempts",
        )
        output = bot.output()
    finally:
        bot.stop()
    assert "Traceback" not in output, output[-3000:]
    broken = f"ERROR   imagine_bot.bot.run: loras.gone.source: the file {lora} does not exist"
    assert broken in output
    assert all(
        re.search(r"WARNING discord\.client: lost the connection to Discord's gateway \(\w+", ln)
        and re.search(r"reconnecting in \d+ s$", ln)
        for ln in lost
    ), lost


def health(base_url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"{base_url}/healthz", timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_model_downloads_show_their_progress(test_env: dict[str, str]) -> None:
    disable_progress_bars()
    ModelRegistry(load_settings(env=test_env))
    assert not are_progress_bars_disabled()


@SIMCORD
async def test_a_pause_is_kept_across_a_restart_and_said_at_start_up(
    world: World, app: ImagineApp
) -> None:
    """``/admin pause`` is stored: a new process starts paused, and its start-up line says so."""
    bot = world.env.bot
    assert isinstance(bot, ImagineBot)
    assert PAUSED_NOTE not in startup_line(bot, app)
    await app.service.pause()
    restarted = ImagineApp.build(app.settings)  # the next process, on the same database
    await restarted.start()
    try:
        assert restarted.service.paused
        assert PAUSED_NOTE in startup_line(bot, restarted)
    finally:
        await restarted.stop()
