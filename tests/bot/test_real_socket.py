"""``imagine-bot run`` and ``imagine-bot sync`` against a fake Discord, over real sockets.

The bot runs as a user runs it (the installed console script, in its own process) with
``DISCORD_API_BASE`` and ``DISCORD_GATEWAY_URL`` pointing at ``tests/support/discord_server.py``,
which speaks Discord's REST and gateway protocol (zlib-stream compression included), not
SimCord's or discord.py's internals. Every wait is bounded; the bot is always stopped.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from tests.support.discord_server import (
    EPHEMERAL,
    PRIVILEGED_INTENTS,
    FakeDiscord,
    GatewaySession,
    RecordedRequest,
    SentInteraction,
)

SCRIPT = Path(sys.executable).parent / "imagine-bot"
START_SECONDS = 180.0
"""Start-up imports torch and diffusers and may warm the model up: slow on a small CI box."""
JOB_SECONDS = 180.0
ANSWER_SECONDS = 30.0
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CUSTOM_ID = re.compile(r"(?P<action>[a-z0-9_]+):(?P<job>[0-9a-f]{32}):(?P<index>[0-4])")


class BotProcess:
    """``imagine-bot ARGS`` in its own process; stderr goes to a file so it never blocks."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log: IO[bytes] = log_path.open("wb")
        self.process = subprocess.Popen(
            [str(SCRIPT), *args],
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def check_alive(self) -> None:
        """For wait loops: fail at once, with the bot's output, if the bot has exited."""
        code = self.process.poll()
        if code is not None:
            raise AssertionError(f"imagine-bot exited with {code}:\n{self.output()[-6000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=20)
        self._log.close()


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    # No deadline here (Discord's is 3 s): a loaded CI machine must not fail on timing. The
    # answer must still come within ANSWER_SECONDS; benchmarks/defer_latency.py measures it.
    with FakeDiscord(interaction_deadline=None) as server:
        yield server


@pytest.fixture
def bot_env(fake: FakeDiscord, test_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The tiny model at test sizes, a fresh data folder, and the fake's addresses."""
    return {**test_env, "IMAGINE_PATHS__DATA_DIR": str(tmp_path / "data"), **fake.env()}


@pytest.fixture
def start_bot(bot_env: dict[str, str], tmp_path: Path) -> Iterator[Any]:
    """Starts ``imagine-bot run`` processes; every one is stopped at the end, whatever happens."""
    started: list[BotProcess] = []

    def start() -> BotProcess:
        bot = BotProcess(["run"], bot_env, tmp_path / f"bot-{len(started)}.log")
        started.append(bot)
        return bot

    try:
        yield start
    finally:
        for bot in started:
            bot.stop()


def wait_ready(fake: FakeDiscord, bot: BotProcess) -> GatewaySession:
    def check() -> GatewaySession | None:
        bot.check_alive()
        return next((s for s in fake.sessions.values() if s.ready and s.connected), None)

    return fake.wait_until(check, timeout=START_SECONDS, what="the bot to connect (READY)")


def wait_until_new_session(fake: FakeDiscord, bot: BotProcess, old: GatewaySession) -> None:
    def check() -> bool:
        bot.check_alive()
        return any(s.ready and s.connected and s is not old for s in fake.sessions.values())

    fake.wait_until(check, timeout=START_SECONDS, what="the restarted bot to connect")


def wait_callback(fake: FakeDiscord, bot: BotProcess, sent: SentInteraction) -> RecordedRequest:
    def check() -> RecordedRequest | None:
        bot.check_alive()
        if sent.refused_callbacks:
            refused = sent.refused_callbacks[0]
            late = refused.received_at - sent.dispatched_at
            raise AssertionError(
                f"Discord refused the answer ({refused.response}) after {late:.2f} s"
            )
        return sent.callback

    return fake.wait_until(check, timeout=ANSWER_SECONDS, what=f"an answer to {sent.id}")


def wait_message(fake: FakeDiscord, bot: BotProcess, what: str, test: Any) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        bot.check_alive()
        return next((m for m in reversed(fake.channel_messages()) if test(m)), None)

    return fake.wait_until(check, timeout=JOB_SECONDS, what=what)


def is_png_with_buttons(count: int) -> Any:
    def test(message: dict[str, Any]) -> bool:
        attachments = message["attachments"]
        return (
            len(attachments) == 1
            and attachments[0]["filename"].endswith(".png")
            and sum(len(row["components"]) for row in message["components"]) == count
        )

    return test


def labels(fake: FakeDiscord, message: dict[str, Any]) -> list[str | None]:
    return [button.get("label") for button in fake.buttons(message)]


@pytest.mark.slow
def test_the_bot_connects_syncs_answers_and_restarts_over_a_real_socket(
    fake: FakeDiscord, start_bot: Any
) -> None:
    bot: BotProcess = start_bot()
    session = wait_ready(fake, bot)

    # Connected: logged in over REST, identified on the gateway with the token, compressed.
    assert fake.requests_matching("GET", r"/users/@me")[0].status == 200
    assert session.identify["token"] == fake.token
    assert session.intents & PRIVILEGED_INTENTS == 0, "the bot must need no privileged intent"
    query = fake.gateway_queries[0]
    assert (query["v"], query["encoding"]) == ("10", "json")
    assert query.get("compress") in ("zlib-stream", "zstd-stream")

    # Synced: a bulk overwrite of the global commands, /imagine among them.
    (put,) = fake.requests_matching("PUT", rf"/applications/{fake.application_id}/commands")
    imagine = next(command for command in put.json if command["name"] == "imagine")
    prompt = next(option for option in imagine["options"] if option["name"] == "prompt")
    assert prompt["type"] == 3 and prompt["required"] is True

    # Answered: deferred within Discord's 3 seconds...
    sent = fake.send_command("imagine", {"prompt": "a lighthouse at dusk @everyone --seed 3"})
    callback = wait_callback(fake, bot, sent)
    assert callback.json["type"] == 5  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
    assert sent.latency is not None

    # ...then a channel message, from "Waiting to start" to the grid with its 11 buttons.
    grid = wait_message(fake, bot, "the grid (PNG and 11 buttons)", is_png_with_buttons(11))
    history = fake.message_history[grid["id"]]
    assert "(Waiting to start" in history[0]["content"]
    assert "a lighthouse at dusk" in grid["content"] and fake.user.mention in grid["content"]
    assert grid["flags"] & EPHEMERAL == 0
    assert grid["mentions"] == [] and grid["mention_everyone"] is False
    attachment = grid["attachments"][0]
    assert fake.attachment_data(attachment).startswith(PNG_MAGIC)
    assert attachment["content_type"] == "image/png"
    assert "lighthouse" not in attachment["filename"]  # file names come from job ids
    found = labels(fake, grid)
    assert found[:4] + found[5:9] == ["U1", "U2", "U3", "U4", "V1", "V2", "V3", "V4"], found
    matches = [CUSTOM_ID.fullmatch(button["custom_id"]) for button in fake.buttons(grid)]
    assert all(matches), [button["custom_id"] for button in fake.buttons(grid)]
    assert len({match["job"] for match in matches if match}) == 1
    actions = [match["action"] for match in matches if match]
    assert actions[4] == "reroll" and actions[9:] == ["star", "delete"], actions
    assert [int(match["index"]) for match in matches if match][:4] == [1, 2, 3, 4]

    # U1 posts image 1 alone, with its own buttons.
    u1 = fake.buttons(grid)[0]["custom_id"]
    click = fake.press_button(grid["id"], u1)
    wait_callback(fake, bot, click)

    def is_single(message: dict[str, Any]) -> bool:
        attachments = message["attachments"]
        return (
            message["id"] != grid["id"]
            and len(attachments) == 1
            and attachments[0]["filename"].endswith(".png")
            and bool(fake.buttons(message))
        )

    single = wait_message(fake, bot, "image #1 alone, with buttons", is_single)
    assert fake.attachment_data(single["attachments"][0]).startswith(PNG_MAGIC)
    assert all(b["custom_id"].endswith(":1") for b in fake.buttons(single))

    # Restarted (same data folder): no second sync, and the old grid's buttons still work.
    bot.stop()
    bot = start_bot()
    wait_until_new_session(fake, bot, old=session)
    assert len(fake.requests_matching("PUT", r"/applications/.*/commands")) == 1
    u2 = fake.buttons(grid)[1]["custom_id"]
    click = fake.press_button(grid["id"], u2)
    wait_callback(fake, bot, click)
    second = wait_message(
        fake,
        bot,
        "image #2 alone, after the restart",
        lambda m: bool(fake.buttons(m)) and fake.buttons(m)[0]["custom_id"].endswith(":2"),
    )
    assert fake.attachment_data(second["attachments"][0]).startswith(PNG_MAGIC)
    assert not fake.unhandled, fake.describe()


@pytest.mark.slow
@pytest.mark.parametrize("guild", [True, False], ids=["guild", "global"])
def test_sync_puts_the_commands(fake: FakeDiscord, bot_env: dict[str, str], guild: bool) -> None:
    args = ["sync", "--guild", fake.guild_id] if guild else ["sync"]
    done = subprocess.run(
        [str(SCRIPT), *args],
        env={**os.environ, **bot_env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    scope = f"/guilds/{fake.guild_id}" if guild else ""
    (put,) = fake.requests_matching("PUT", rf"/applications/{fake.application_id}{scope}/commands")
    names = [command["name"] for command in put.json]
    assert "imagine" in names
    assert f"synced {len(names)} commands" in done.stdout
    if guild:
        assert fake.guild_id in done.stdout
        assert all(command["guild_id"] == fake.guild_id for command in put.response)
    assert not fake.identifies, "sync publishes commands without connecting to the gateway"
    assert not fake.unhandled, fake.describe()
