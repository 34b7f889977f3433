"""The fake Discord against a plain discord.py client, and against a bare websocket.

These pin the fake to Discord's wire protocol, so the bot's real-socket test can trust it.
"""

from __future__ import annotations

import asyncio
import io
import json
import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import discord
import pytest
import yarl
from discord import app_commands
from PIL import Image

from tests.support.discord_server import (
    EPHEMERAL,
    INTENT_GUILD_MEMBERS,
    FakeDiscord,
    iter_custom_ids,
)

WAIT = 30.0
"""Every wait is bounded; a passing run takes a fraction of this."""


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDiscord]:
    with FakeDiscord() as fake:
        point_discord_py_at(fake, monkeypatch)
        yield fake


def point_discord_py_at(fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``imagine-bot run`` does with DISCORD_API_BASE and DISCORD_GATEWAY_URL."""
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket,
        "DEFAULT_GATEWAY",
        yarl.URL(fake.gateway_url),
    )


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 8), "red").save(buffer, format="PNG")
    return buffer.getvalue()


class Grid(discord.ui.View):
    def __init__(self, job: str, bot: MiniBot) -> None:
        super().__init__(timeout=None)
        self.bot = bot
        for index in range(1, 5):
            self.add_item(
                discord.ui.Button(label=f"U{index}", custom_id=f"select:{job}:{index}", row=0)
            )

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        await interaction.response.defer()
        await interaction.followup.send(
            "picked", file=discord.File(io.BytesIO(png_bytes()), "1.png")
        )
        self.bot.answered += 1
        return False


class MiniBot(discord.Client):
    """The least a slash-command bot does: sync, defer, post in the channel, edit with a file."""

    def __init__(
        self, *, intents: discord.Intents | None = None, answer_delay: float = 0.0
    ) -> None:
        super().__init__(intents=intents or discord.Intents(guilds=True))
        self.tree = app_commands.CommandTree(self)
        self.answer_delay = answer_delay
        self.errors: list[BaseException] = []
        self.answered = 0
        """Commands whose handler has finished: their last request was answered."""
        self.tree.add_command(
            app_commands.Command(name="imagine", description="Imagine", callback=self.imagine)
        )

    async def setup_hook(self) -> None:
        self.add_view(Grid("0" * 32, self))
        await self.tree.sync()

    async def imagine(self, interaction: discord.Interaction[Any], prompt: str) -> None:
        try:
            await asyncio.sleep(self.answer_delay)
            await interaction.response.defer(ephemeral=True, thinking=True)
            channel = interaction.channel
            assert isinstance(channel, discord.TextChannel)
            message = await channel.send(f"**{prompt}** (Waiting to start)")
            await message.edit(
                content=f"**{prompt}**",
                attachments=[discord.File(io.BytesIO(png_bytes()), "grid.png")],
                view=Grid("0" * 32, self),
            )
            await interaction.followup.send("Started.", ephemeral=True)
            self.answered += 1
        except BaseException as error:
            self.errors.append(error)
            raise


@asynccontextmanager
async def running(bot: discord.Client, fake: FakeDiscord) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(bot.start(fake.token))
    try:
        yield task
    finally:
        await bot.close()
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), WAIT)


async def ready(fake: FakeDiscord, task: asyncio.Task[None]) -> None:
    def check() -> bool:
        if task.done():
            raise AssertionError(f"the client stopped: {task.exception()!r}")
        return any(s.ready and s.connected for s in fake.sessions.values())

    await asyncio.to_thread(fake.wait_until, check, timeout=WAIT, what="READY")


async def test_a_plain_client_logs_in_syncs_connects_and_answers(server: FakeDiscord) -> None:
    bot = MiniBot()
    async with running(bot, server) as task:
        await ready(server, task)
        assert server.gateway_queries[0] == {
            "v": "10",
            "encoding": "json",
            "compress": "zlib-stream",
        }
        (identify,) = server.identifies
        assert identify["token"] == "fake" and identify["intents"] == 1
        put = server.requests_matching("PUT", rf"/applications/{server.application_id}/commands")
        assert [command["name"] for command in put[0].json] == ["imagine"]
        assert bot.user is not None and str(bot.user.id) == server.bot_user.id
        assert str(bot.application_id) == server.application_id

        sent = await asyncio.to_thread(server.send_command, "imagine", {"prompt": "a fox"})
        callback = await asyncio.to_thread(server.wait_for_callback, sent, timeout=WAIT)
        assert callback.json == {"type": 5, "data": {"flags": EPHEMERAL}}
        assert callback.query == {"with_response": "1"}
        assert sent.latency is not None and sent.latency > 0

        def grid_message() -> dict[str, Any] | None:
            for message in server.channel_messages():
                if message["attachments"] and message["components"]:
                    return message
            return None

        grid = await asyncio.to_thread(server.wait_until, grid_message, timeout=WAIT, what="grid")
        assert grid["content"] == "**a fox**"
        assert grid["attachments"][0]["filename"] == "grid.png"
        assert grid["attachments"][0]["width"] == 16
        assert server.attachment_data(grid["attachments"][0]) == png_bytes()
        assert list(iter_custom_ids(grid)) == [f"select:{'0' * 32}:{i}" for i in range(1, 5)]
        edit = server.requests_matching("PATCH", rf"/channels/{server.channel_id}/messages/\d+")[0]
        assert edit.files[0].field == "files[0]" and edit.files[0].data == png_bytes()
        assert edit.json["attachments"] == [{"id": 0, "filename": "grid.png"}]

        # The first follow-up fills the deferred, ephemeral "thinking" message.
        original = await asyncio.to_thread(
            server.wait_for_message, lambda m: m["content"] == "Started.", timeout=WAIT
        )
        assert original["id"] == sent.original_message_id
        assert original["flags"] == EPHEMERAL

        click = await asyncio.to_thread(server.press_button, grid["id"], f"select:{'0' * 32}:1")
        click_callback = await asyncio.to_thread(server.wait_for_callback, click, timeout=WAIT)
        assert click_callback.json == {"type": 6}
        picked = await asyncio.to_thread(
            server.wait_for_message, lambda m: m["content"] == "picked", timeout=WAIT
        )
        assert picked["attachments"][0]["filename"] == "1.png" and picked["flags"] == 0
        await asyncio.to_thread(
            server.wait_until, lambda: bot.answered == 2, timeout=WAIT, what="end"
        )
    assert not bot.errors
    assert not server.unhandled, server.describe()


async def test_payloads_split_over_frames_are_reassembled(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeDiscord(split_frames=3) as fake:
        point_discord_py_at(fake, monkeypatch)
        bot = MiniBot()
        async with running(bot, fake) as task:
            await ready(fake, task)
            sent = await asyncio.to_thread(fake.send_command, "imagine", {"prompt": "split"})
            await asyncio.to_thread(fake.wait_for_callback, sent, timeout=WAIT)


async def test_a_wrong_token_fails_login(server: FakeDiscord) -> None:
    bot = MiniBot()
    with pytest.raises(discord.LoginFailure):
        await bot.start("not-the-token")
    await bot.close()
    assert server.requests[0].status == 401


async def test_privileged_intents_are_refused(server: FakeDiscord) -> None:
    bot = MiniBot(intents=discord.Intents(guilds=True, members=True))
    with pytest.raises(discord.PrivilegedIntentsRequired):
        await asyncio.wait_for(bot.start(server.token), WAIT)
    await bot.close()
    assert server.identifies[0]["intents"] & INTENT_GUILD_MEMBERS
    server.wait_until(lambda: server.close_codes, timeout=WAIT, what="the close")
    assert server.close_codes == [4014]


async def test_a_late_answer_is_an_unknown_interaction(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeDiscord(interaction_deadline=0.05) as fake:
        point_discord_py_at(fake, monkeypatch)
        bot = MiniBot(answer_delay=0.5)
        async with running(bot, fake) as task:
            await ready(fake, task)
            sent = await asyncio.to_thread(fake.send_command, "imagine", {"prompt": "slow"})
            await asyncio.to_thread(
                fake.wait_until, lambda: sent.refused_callbacks, timeout=WAIT, what="a refusal"
            )
            assert sent.callback is None
            assert sent.refused_callbacks[0].response == {
                "message": "Unknown interaction",
                "code": 10062,
            }


async def test_a_429_on_a_message_post_is_retried(server: FakeDiscord) -> None:
    server.fail_next("POST", rf"/channels/{server.channel_id}/messages", retry_after=0.1)
    bot = MiniBot()
    async with running(bot, server) as task:
        await ready(server, task)
        sent = await asyncio.to_thread(server.send_command, "imagine", {"prompt": "busy"})
        await asyncio.to_thread(
            server.wait_until, lambda: bot.answered, timeout=WAIT, what="the answer"
        )
    posts = server.requests_matching("POST", rf"/channels/{server.channel_id}/messages")
    assert [post.status for post in posts] == [429, 200]
    assert posts[0].response["retry_after"] == 0.1
    assert sent.callback is not None and not bot.errors


async def test_a_dropped_connection_resumes_and_keeps_working(server: FakeDiscord) -> None:
    bot = MiniBot()
    async with running(bot, server) as task:
        await ready(server, task)
        await asyncio.to_thread(server.drop_connections, 4000)
        await asyncio.to_thread(
            server.wait_until,
            lambda: any(p.get("t") == "RESUMED" for p in server.gateway_sent),
            timeout=WAIT,
            what="RESUMED",
        )
        sent = await asyncio.to_thread(server.send_command, "imagine", {"prompt": "again"})
        await asyncio.to_thread(server.wait_for_callback, sent, timeout=WAIT)
    assert [p["op"] for p in server.gateway_received if p["op"] in (2, 6)] == [2, 6]


async def test_the_gateway_speaks_zlib_stream_to_a_bare_websocket() -> None:
    """No library: HELLO, IDENTIFY, READY and GUILD_CREATE, heartbeat ACK, as Discord sends."""
    with FakeDiscord() as fake:
        inflate = zlib.decompressobj()
        buffer = bytearray()

        async def receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
            while True:
                frame = await ws.receive(timeout=WAIT)
                assert frame.type is aiohttp.WSMsgType.BINARY
                buffer.extend(frame.data)
                if bytes(buffer[-4:]) == b"\x00\x00\xff\xff":
                    text = inflate.decompress(bytes(buffer))
                    buffer.clear()
                    payload: dict[str, Any] = json.loads(text)
                    return payload

        url = f"{fake.gateway_url}?v=10&encoding=json&compress=zlib-stream"
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            hello = await receive(ws)
            assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] > 0
            await ws.send_str(json.dumps({"op": 1, "d": None}))
            assert (await receive(ws))["op"] == 11
            identify = {"token": fake.token, "intents": 1, "properties": {"os": "linux"}}
            await ws.send_str(json.dumps({"op": 2, "d": identify}))
            ready_event = await receive(ws)
            assert (ready_event["t"], ready_event["s"]) == ("READY", 1)
            assert ready_event["d"]["application"]["id"] == fake.application_id
            assert ready_event["d"]["guilds"] == [{"id": fake.guild_id, "unavailable": True}]
            guild = await receive(ws)
            assert (guild["t"], guild["s"]) == ("GUILD_CREATE", 2)
            assert [c["id"] for c in guild["d"]["channels"]] == [fake.channel_id]
            await ws.send_str(json.dumps({"op": 2, "d": identify}))
            closed = await ws.receive(timeout=WAIT)
            assert closed.type is aiohttp.WSMsgType.CLOSE and closed.data == 4005


async def test_unknown_routes_answer_discord_style_404s() -> None:
    with FakeDiscord() as fake:
        headers = {"Authorization": f"Bot {fake.token}"}
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{fake.api_base}/guilds/1/bans", headers=headers) as response:
                assert response.status == 404
                assert await response.json() == {"message": "404: Not Found", "code": 0}
            async with session.get(f"{fake.api_base}/users/@me") as response:
                assert response.status == 401
        assert [request.path for request in fake.unhandled] == ["/guilds/1/bans"]


async def test_messages_follow_allowed_mentions_and_the_upload_limit() -> None:
    with FakeDiscord(upload_limit=1000) as fake:
        url = f"{fake.api_base}/channels/{fake.channel_id}/messages"
        headers = {"Authorization": f"Bot {fake.token}"}
        content = f"hi {fake.user.mention} @everyone"
        async with aiohttp.ClientSession(headers=headers) as session:
            async with session.post(url, json={"content": content}) as response:
                pinged = await response.json()
            none = {"content": content, "allowed_mentions": {"parse": []}}
            async with session.post(url, json=none) as response:
                quiet = await response.json()
            form = aiohttp.FormData()
            form.add_field("payload_json", json.dumps({"content": "big"}))
            form.add_field("files[0]", b"x" * 1001, filename="big.png")
            async with session.post(url, data=form) as response:
                too_big = (response.status, await response.json())
            async with session.post(url, json={"content": ""}) as response:
                empty = (response.status, await response.json())
        assert [user["id"] for user in pinged["mentions"]] == [fake.user.id]
        assert pinged["mention_everyone"] is False  # the bot lacks Mention Everyone
        assert quiet["mentions"] == [] and quiet["mention_everyone"] is False
        assert too_big == (413, {"message": "Request entity too large", "code": 40005})
        assert empty == (400, {"message": "Cannot send an empty message", "code": 50006})


async def test_rate_limits_have_discords_headers_and_429s() -> None:
    with FakeDiscord() as fake:
        url = f"{fake.api_base}/channels/{fake.channel_id}/messages"
        headers = {"Authorization": f"Bot {fake.token}"}
        answers = []
        async with aiohttp.ClientSession(headers=headers) as session:
            for number in range(6):
                async with session.post(url, json={"content": f"{number}"}) as response:
                    answers.append((response.status, dict(response.headers), await response.json()))
        assert [status for status, _, _ in answers] == [200] * 5 + [429]
        assert [h["X-RateLimit-Remaining"] for _, h, _ in answers[:5]] == ["4", "3", "2", "1", "0"]
        assert all(h["Via"] == "1.1 google" for _, h, _ in answers)
        _, limited, body = answers[5]
        assert body["global"] is False and 0 < body["retry_after"] <= 5
        assert limited["X-RateLimit-Scope"] == "user" and int(limited["Retry-After"]) >= 1
