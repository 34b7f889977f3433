"""A fake Discord on 127.0.0.1: the REST API (v10) and the gateway, over real sockets.

It speaks Discord's documented wire protocol, not any library's internals, so any client that
talks to Discord can be pointed at it (``discord.http.Route.BASE`` and
``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` for discord.py):

* REST under ``/api/v10`` (and v9): login (``GET /users/@me``), the application
  (``GET /oauth2/applications/@me``), ``GET /gateway[/bot]``, global and guild application
  commands (bulk overwrite), interaction callbacks (``?with_response``), interaction webhooks
  (follow-ups, ``@original``), channel messages with JSON or ``multipart/form-data`` bodies
  (``payload_json`` + ``files[n]``), per-route rate limits with Discord's headers and 429s.
  Every request is recorded; routes not implemented answer Discord's JSON 404 and are logged
  in :attr:`FakeDiscord.unhandled`.
* The gateway: HELLO, IDENTIFY -> READY + GUILD_CREATE, heartbeats and their ACKs, RESUME,
  RECONNECT, close codes (4004 bad token, 4014 privileged intents, ...), plain JSON text
  frames or ``zlib-stream`` / ``zstd-stream`` transport compression (one compressor per
  connection, each payload flushed with ``Z_SYNC_FLUSH`` and sent as binary frames).
* Behaviour clients must cope with on Discord: an interaction must be acknowledged within
  3 seconds and only once; the first follow-up after a "thinking" defer fills the deferred
  message; the upload limit (10 MiB); component and content limits; allowed mentions.

The server runs in its own thread with its own event loop, so a test can drive a bot in a
subprocess (or in the test's own loop) and wait on the server with plain blocking calls, each
bounded by a timeout::

    with FakeDiscord() as discord:
        bot = subprocess.Popen([...], env={**os.environ, **discord.env()})
        discord.wait_for_ready(timeout=120)
        sent = discord.send_command("imagine", {"prompt": "a fox"})
        callback = discord.wait_for_callback(sent, timeout=30)

Run ``python -m tests.support.discord_server`` to keep one running for a manual try.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import importlib
import io
import itertools
import json
import logging
import mimetypes
import re
import secrets
import socket
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import BodyPartReader, WSMsgType, web

log = logging.getLogger(__name__)

Json = dict[str, Any]
T = TypeVar("T")

API_VERSIONS = ("9", "10")
GATEWAY_VERSIONS = ("9", "10")
DISCORD_EPOCH_MS = 1420070400000
MIB = 1024 * 1024
DEFAULT_UPLOAD_LIMIT = 10 * MIB
INTERACTION_TOKEN_LIFETIME = 15 * 60.0

# Permission bits (https://discord.com/developers/docs/topics/permissions).
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
USE_APPLICATION_COMMANDS = 1 << 31
SEND_MESSAGES_IN_THREADS = 1 << 38
MEMBER_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | USE_APPLICATION_COMMANDS
    | SEND_MESSAGES_IN_THREADS
)
"""What the @everyone role of the test guild allows: a typical member, no admin rights."""

# Gateway intents (https://discord.com/developers/docs/events/gateway#gateway-intents).
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT

# Message flags.
EPHEMERAL = 1 << 6
LOADING = 1 << 7

# Interaction types and callback types.
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
CHANNEL_MESSAGE_WITH_SOURCE = 4
DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
AUTOCOMPLETE_RESULT = 8
MODAL = 9
CALLBACKS_FOR = {
    APPLICATION_COMMAND: (CHANNEL_MESSAGE_WITH_SOURCE, DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, MODAL),
    MESSAGE_COMPONENT: (
        CHANNEL_MESSAGE_WITH_SOURCE,
        DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
        DEFERRED_UPDATE_MESSAGE,
        UPDATE_MESSAGE,
        MODAL,
    ),
    AUTOCOMPLETE: (AUTOCOMPLETE_RESULT,),
    MODAL_SUBMIT: (
        CHANNEL_MESSAGE_WITH_SOURCE,
        DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
        DEFERRED_UPDATE_MESSAGE,
        UPDATE_MESSAGE,
    ),
}

# Application command option types.
SUB_COMMAND, SUB_COMMAND_GROUP, STRING, INTEGER, BOOLEAN, USER = 1, 2, 3, 4, 5, 6
CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = 7, 8, 9, 10, 11

# Message types (https://discord.com/developers/docs/resources/message#message-object-message-types).
DEFAULT_MESSAGE = 0
REPLY = 19
CHAT_INPUT_COMMAND = 20

COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")
MENTION = re.compile(r"<@!?(\d+)>")
ROLE_MENTION = re.compile(r"<@&(\d+)>")
FILE_FIELD = re.compile(r"^files\[(\d+)\]$")

zstandard: Any
try:  # Discord also offers zstd-stream; discord.py asks for it when a zstd module is installed.
    zstandard = importlib.import_module("zstandard")
except ImportError:  # pragma: no cover - depends on the environment
    zstandard = None


class ApiError(Exception):
    """An error answered the way Discord answers it: ``{"message": ..., "code": ...}``."""

    def __init__(self, status: int, code: int, message: str, errors: Json | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.body: Json = {"message": message, "code": code}
        if errors is not None:
            self.body["errors"] = errors


def invalid_form(path: tuple[str | int, ...], code: str, message: str) -> ApiError:
    """Discord's 50035 "Invalid Form Body", with the error nested under the field's path."""
    errors: Json = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(path):
        errors = {str(part): errors}
    return ApiError(400, 50035, "Invalid Form Body", errors)


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class FakeUser:
    id: str
    username: str
    bot: bool = False

    def payload(self) -> Json:
        data: Json = {
            "id": self.id,
            "username": self.username,
            "global_name": None if self.bot else self.username.title(),
            "discriminator": "0",
            "avatar": None,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "primary_guild": None,
        }
        if self.bot:
            data["bot"] = True
        return data

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"


@dataclass(frozen=True)
class Upload:
    """One file of a ``multipart/form-data`` request."""

    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class RecordedRequest:
    """A REST request as the server saw it; ``path`` is relative to ``/api/v10``."""

    index: int
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    files: list[Upload]
    received_at: float
    """``time.perf_counter()`` when the request reached its handler."""
    status: int = 0
    response: Any = None

    def matches(self, method: str, pattern: str) -> bool:
        return self.method == method and re.fullmatch(pattern, self.path) is not None

    def describe(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"


@dataclass
class SentInteraction:
    """An interaction the server dispatched to the bot, and what the bot did with it."""

    id: str
    token: str
    type: int
    payload: Json
    user: FakeUser
    dispatched_at: float = 0.0
    """``time.perf_counter()`` just before the INTERACTION_CREATE frame was written."""
    callback: RecordedRequest | None = None
    callback_type: int | None = None
    refused_callbacks: list[RecordedRequest] = field(default_factory=list)
    original_message_id: str | None = None
    loading: bool = False
    """A type-5 defer whose deferred message no follow-up or edit has filled yet."""
    source_message_id: str | None = None
    followup_ids: list[str] = field(default_factory=list)

    @property
    def latency(self) -> float | None:
        """Seconds from the dispatch to the callback request's arrival."""
        if self.callback is None:
            return None
        return self.callback.received_at - self.dispatched_at


@dataclass
class _Bucket:
    limit: int
    window: float
    reset_at: float
    remaining: int


@dataclass
class _Failure:
    method: str
    pattern: re.Pattern[str]
    status: int
    remaining: int
    retry_after: float
    is_global: bool


class GatewayConnection:
    """One websocket: the transport compression state and its send order."""

    def __init__(self, ws: web.WebSocketResponse, compress: str | None, split: int) -> None:
        self.ws = ws
        self.compress = compress
        self.split = max(1, split)
        self._lock = asyncio.Lock()
        self._zlib = zlib.compressobj() if compress == "zlib-stream" else None
        self._zstd: Any = None
        if compress == "zstd-stream" and zstandard is not None:
            self._zstd = zstandard.ZstdCompressor().compressobj()
        self.session: GatewaySession | None = None
        self.closed_with: int | None = None
        """The close code this server sent, if it closed the connection."""

    @property
    def open(self) -> bool:
        return not self.ws.closed

    async def send(self, payload: Json) -> float:
        """Write one payload; returns ``perf_counter()`` taken just before the write."""
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        # Compression and writing happen under one lock: a zlib stream must reach the client
        # in the order it was produced.
        async with self._lock:
            started = time.perf_counter()
            if self._zlib is not None:
                data = self._zlib.compress(text.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                for chunk in _split(data, self.split):
                    await self.ws.send_bytes(chunk)
            elif self._zstd is not None:
                assert zstandard is not None
                data = self._zstd.compress(text.encode()) + self._zstd.flush(
                    zstandard.COMPRESSOBJ_FLUSH_BLOCK
                )
                await self.ws.send_bytes(data)
            else:
                await self.ws.send_str(text)
            return started

    async def close(self, code: int, reason: str) -> None:
        log.info("gateway: closing with %d (%s)", code, reason)
        self.closed_with = code
        await self.ws.close(code=code, message=reason.encode())


def _split(data: bytes, parts: int) -> list[bytes]:
    """Discord may split one compressed payload over several frames; so can this server."""
    if parts <= 1 or len(data) < parts * 8:
        return [data]
    size = -(-len(data) // parts)
    return [data[start : start + size] for start in range(0, len(data), size)]


@dataclass
class GatewaySession:
    """A gateway session (survives resumes): its sequence and the dispatches it was sent."""

    id: str
    intents: int
    identify: Json
    seq: int = 0
    sent: list[Json] = field(default_factory=list)
    connection: GatewayConnection | None = None
    ready: bool = False

    @property
    def connected(self) -> bool:
        return self.connection is not None and self.connection.open


RouteHandler = Callable[[RecordedRequest, re.Match[str]], Coroutine[Any, Any, tuple[int, Any]]]


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: RouteHandler
    limit: tuple[int, float] | None
    """Requests per window (seconds) per major parameter, or None: not rate limited."""
    auth: bool = True
    """Whether the route needs ``Authorization: Bot <token>`` (interaction webhooks do not)."""


class FakeDiscord:
    """The fake Discord server. Use as a context manager, or call :meth:`start` and
    :meth:`stop`. Every public method is safe to call from any thread but the server's."""

    def __init__(
        self,
        *,
        token: str = "fake",
        interaction_deadline: float | None = 3.0,
        heartbeat_interval_ms: int = 41250,
        rate_limits: bool = True,
        upload_limit: int = DEFAULT_UPLOAD_LIMIT,
        split_frames: int = 1,
        allowed_privileged_intents: int = 0,
        bot_permissions: int = MEMBER_PERMISSIONS,
        port: int = 0,
    ) -> None:
        """``interaction_deadline``: seconds an interaction may wait for its callback before
        Discord forgets it (``10062 Unknown interaction``); None waits forever.
        ``split_frames``: write each compressed gateway payload in this many frames."""
        self.token = token
        self.interaction_deadline = interaction_deadline
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.rate_limits = rate_limits
        self.upload_limit = upload_limit
        self.split_frames = split_frames
        self.allowed_privileged_intents = allowed_privileged_intents
        self.bot_permissions = bot_permissions
        self._requested_port = port
        self.port = 0

        self._last_snowflake = 0
        self._changed = threading.Condition(threading.RLock())
        self.application_id = self.snowflake()
        self.bot_user = FakeUser(self.snowflake(), "imagine-test-bot", bot=True)
        self.user = FakeUser(self.snowflake(), "alice")
        self.stranger = FakeUser(self.snowflake(), "bob")
        self.users: dict[str, FakeUser] = {
            user.id: user for user in (self.bot_user, self.user, self.stranger)
        }
        self.guild_id = self.snowflake()
        self.channel_id = self.snowflake()
        self.guild_name = "Imagine Test Server"
        self.channel_name = "imagine"
        self.joined_at = now_iso()

        # What the server saw and holds. Guarded by ``_changed``.
        self.requests: list[RecordedRequest] = []
        self.unhandled: list[RecordedRequest] = []
        self.gateway_received: list[Json] = []
        self.gateway_sent: list[Json] = []
        self.gateway_queries: list[dict[str, str]] = []
        self.close_codes: list[int] = []
        """How each gateway connection ended: the server's close code, else the client's."""
        self.heartbeats = 0
        self.identifies: list[Json] = []
        self.commands: dict[str | None, dict[str, Json]] = {}
        """Registered commands: ``None`` (global) or a guild id -> name -> command."""
        self.command_creates = 0
        """Commands created (not updated) by bulk overwrites: Discord caps these at 200 a day."""
        self.messages: dict[str, Json] = {}
        self.message_history: dict[str, list[Json]] = {}
        """Every version of every message, oldest first."""
        self.interactions: dict[str, SentInteraction] = {}
        self.sessions: dict[str, GatewaySession] = {}
        self._files: dict[str, bytes] = {}
        self._buckets: dict[tuple[str, str, str], _Bucket] = {}
        self._recent: deque[float] = deque()
        self._failures: list[_Failure] = []

        self._routes = self._build_routes()
        self._connections: set[GatewayConnection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._startup_error: BaseException | None = None

    # -- life cycle -------------------------------------------------------------------------

    def __enter__(self) -> FakeDiscord:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> FakeDiscord:
        self._thread = threading.Thread(target=self._thread_main, name="fake-discord", daemon=True)
        self._thread.start()
        if not self._started.wait(30):
            raise RuntimeError("the fake Discord server did not start within 30 s")
        if self._startup_error is not None:
            raise RuntimeError("the fake Discord server failed to start") from self._startup_error
        log.info("fake Discord listening on 127.0.0.1:%d", self.port)
        return self

    def stop(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None

    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as error:  # reported to start(), or logged once running
            if not self._started.is_set():
                self._startup_error = error
                self._started.set()
            else:
                log.exception("fake Discord server crashed")
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        app = web.Application(client_max_size=64 * MIB)
        app.router.add_route("*", "/api/{tail:.*}", self._handle_api)
        app.router.add_get("/attachments/{tail:.*}", self._handle_cdn)
        app.router.add_get("/gateway", self._handle_gateway)
        app.router.add_get("/", self._handle_gateway)
        app.router.add_route("*", "/{tail:.*}", self._handle_stray)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._requested_port))
        site = web.SockSite(runner, sock)
        await site.start()
        self.port = sock.getsockname()[1]
        self._started.set()
        try:
            await self._stop.wait()
        finally:
            for connection in list(self._connections):
                with contextlib.suppress(Exception):
                    await connection.close(1001, "server shutting down")
            await runner.cleanup()

    def _call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run ``coroutine`` on the server's loop and wait for its result."""
        if self._loop is None:
            coroutine.close()
            raise RuntimeError("the fake Discord server is not running")
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError("blocking FakeDiscord calls cannot run on the server's own thread")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    # -- addresses --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def env(self) -> dict[str, str]:
        """The environment that points a bot at this server."""
        return {
            "DISCORD_TOKEN": self.token,
            "DISCORD_API_BASE": self.api_base,
            "DISCORD_GATEWAY_URL": self.gateway_url,
        }

    # -- ids and objects --------------------------------------------------------------------

    def snowflake(self) -> str:
        """A real-looking snowflake (timestamp in the high bits), unique and increasing."""
        with self._changed:
            stamp = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
            self._last_snowflake = max(stamp, self._last_snowflake + 1)
            return str(self._last_snowflake)

    def add_user(self, username: str) -> FakeUser:
        """Another member of the test guild."""
        user = FakeUser(self.snowflake(), username)
        with self._changed:
            self.users[user.id] = user
        return user

    def _role_payload(self) -> Json:
        return {
            "id": self.guild_id,
            "name": "@everyone",
            "description": None,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": 0,
            "permissions": str(MEMBER_PERMISSIONS),
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }

    def _channel_payload(self) -> Json:
        return {
            "id": self.channel_id,
            "type": 0,
            "guild_id": self.guild_id,
            "name": self.channel_name,
            "position": 0,
            "flags": 0,
            "parent_id": None,
            "topic": None,
            "nsfw": False,
            "rate_limit_per_user": 0,
            "last_message_id": None,
            "permission_overwrites": [],
        }

    def _member_payload(self, user: FakeUser, *, permissions: int | None = None) -> Json:
        data: Json = {
            "user": user.payload(),
            "nick": None,
            "avatar": None,
            "banner": None,
            "roles": [],
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data

    def _guild_payload(self, intents: int) -> Json:
        """GUILD_CREATE's guild: without the members intent, the only member is the bot."""
        members = [self._member_payload(self.bot_user)]
        if intents & INTENT_GUILD_MEMBERS:
            members += [self._member_payload(user) for user in self.users.values() if not user.bot]
        return {
            "id": self.guild_id,
            "name": self.guild_name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": self.user.id,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [self._role_payload()],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": self.channel_id,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "max_members": 25000000,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "incidents_data": None,
            "joined_at": self.joined_at,
            "large": False,
            "unavailable": False,
            "lazy": True,
            "member_count": len(self.users),
            "voice_states": [],
            "members": members,
            "channels": [self._channel_payload()],
            "threads": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "embedded_activities": [],
            "activity_instances": [],
            "version": int(time.time() * 1000),
        }

    def _application_payload(self) -> Json:
        return {
            "id": self.application_id,
            "name": "Imagine Test",
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "hook": True,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": secrets.token_hex(32),
            "flags": 0,
            "owner": self.user.payload(),
            "team": None,
            "rpc_origins": [],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "tags": [],
            "install_params": {"scopes": ["applications.commands", "bot"], "permissions": "0"},
            "integration_types_config": {"0": {}},
            "approximate_guild_count": 1,
            "bot": self.bot_user.payload(),
        }

    # -- waiting ----------------------------------------------------------------------------

    def wait_until(self, check: Callable[[], T | None], *, timeout: float, what: str) -> T:
        """Wait, at most ``timeout`` seconds, until ``check()`` returns something truthy.

        ``check`` runs under the server's lock, each time the server's state changes (and at
        least twice a second, so checks on outside state, like a subprocess, run too)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                result = check()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"waited {timeout:g} s for {what}\n{self.describe()}")
                self._changed.wait(min(remaining, 0.5))

    def describe(self, last: int = 40) -> str:
        """The last requests and gateway events, for failure messages."""
        with self._changed:
            lines = [f"  {request.describe()}" for request in self.requests[-last:]]
            events = [
                str(payload.get("t") or f"op {payload.get('op')}")
                for payload in self.gateway_sent[-last:]
            ]
            unhandled = [request.describe() for request in self.unhandled]
        return "\n".join(
            [
                "requests (latest last):",
                *lines,
                f"gateway sent: {', '.join(events) or 'nothing'}",
                f"unhandled routes: {', '.join(unhandled) or 'none'}",
            ]
        )

    def requests_matching(self, method: str, pattern: str) -> list[RecordedRequest]:
        with self._changed:
            return [request for request in self.requests if request.matches(method, pattern)]

    def wait_for_request(
        self,
        method: str,
        pattern: str,
        *,
        where: Callable[[RecordedRequest], bool] | None = None,
        after: int = 0,
        timeout: float,
    ) -> RecordedRequest:
        """The first request (from index ``after`` on) matching method, path and ``where``."""

        def check() -> RecordedRequest | None:
            for request in self.requests[after:]:
                answered = request.status and request.matches(method, pattern)
                if answered and (where is None or where(request)):
                    return request
            return None

        return self.wait_until(check, timeout=timeout, what=f"{method} {pattern}")

    def wait_for_ready(self, *, timeout: float) -> GatewaySession:
        """Wait for a session that identified and was sent READY (and its GUILD_CREATE)."""

        def check() -> GatewaySession | None:
            for session in self.sessions.values():
                if session.ready and session.connected:
                    return session
            return None

        return self.wait_until(check, timeout=timeout, what="a bot to identify and be READY")

    def wait_for_callback(self, interaction: SentInteraction, *, timeout: float) -> RecordedRequest:
        """The accepted callback of ``interaction``."""
        return self.wait_until(
            lambda: interaction.callback,
            timeout=timeout,
            what=f"the callback of interaction {interaction.id}",
        )

    def wait_for_message(
        self,
        check: Callable[[Json], bool],
        *,
        timeout: float,
        what: str = "a message",
        channel_id: str | None = None,
    ) -> Json:
        """The newest message (its current version) that passes ``check``."""

        def find() -> Json | None:
            for message in reversed(self.messages.values()):
                if channel_id is not None and message["channel_id"] != channel_id:
                    continue
                if check(message):
                    return copy.deepcopy(message)
            return None

        return self.wait_until(find, timeout=timeout, what=what)

    def channel_messages(self, channel_id: str | None = None) -> list[Json]:
        """Current versions of the messages in a channel (the test channel by default),
        ephemeral ones included (their flags say so), oldest first."""
        channel = channel_id or self.channel_id
        with self._changed:
            return [
                copy.deepcopy(message)
                for message in self.messages.values()
                if message["channel_id"] == channel
            ]

    def attachment_data(self, attachment: Json) -> bytes:
        """The bytes uploaded for an attachment object of a message."""
        with self._changed:
            return self._files[attachment["id"]]

    # -- faults -----------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        pattern: str,
        *,
        status: int = 429,
        count: int = 1,
        retry_after: float = 0.25,
        is_global: bool = False,
    ) -> None:
        """Answer the next ``count`` matching requests with ``status`` (429: a rate limit with
        ``retry_after``; 5xx: Discord's server error) instead of handling them."""
        with self._changed:
            self._failures.append(
                _Failure(method, re.compile(pattern), status, count, retry_after, is_global)
            )

    def request_reconnect(self) -> None:
        """Send op 7 RECONNECT on every connection (the client should resume)."""
        self._call(self._broadcast_op(7, None))

    def drop_connections(self, code: int = 4000) -> None:
        """Close every gateway connection with ``code`` (4000 lets a client resume)."""
        self._call(self._drop(code))

    async def _broadcast_op(self, op: int, data: Any) -> None:
        for connection in list(self._connections):
            if connection.open:
                await self._send(connection, {"op": op, "d": data, "s": None, "t": None})

    async def _drop(self, code: int) -> None:
        for connection in list(self._connections):
            if connection.open:
                await connection.close(code, "dropped by the test")

    # -- interactions -----------------------------------------------------------------------

    def send_command(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        user: FakeUser | None = None,
        permissions: int | None = None,
    ) -> SentInteraction:
        """Dispatch INTERACTION_CREATE for a slash command, as if ``user`` ran it in the test
        channel. ``name`` may hold subcommands ("prefer option set"). Option values are
        plain values; an attachment option takes ``(filename, bytes)``. The command must have
        been registered (globally or in the test guild), as on Discord."""
        return self._call(self._send_command(name, dict(options or {}), user, permissions))

    def press_button(
        self, message_id: str, custom_id: str, *, user: FakeUser | None = None
    ) -> SentInteraction:
        """Dispatch INTERACTION_CREATE for a click on a button of a stored message."""
        return self._call(self._press_button(message_id, custom_id, user))

    def buttons(self, message: Json) -> list[Json]:
        """The buttons of a message, row by row."""
        return [
            component
            for row in message.get("components") or []
            for component in row.get("components", [])
            if component.get("type") == 2
        ]

    async def _send_command(
        self, name: str, values: dict[str, Any], user: FakeUser | None, permissions: int | None
    ) -> SentInteraction:
        root, *path = name.split()
        with self._changed:
            guild_command = self.commands.get(self.guild_id, {}).get(root)
            command = guild_command or self.commands.get(None, {}).get(root)
            if command is None:
                known = sorted(
                    {*self.commands.get(None, {}), *self.commands.get(self.guild_id, {})}
                )
                raise LookupError(f"/{root} is not registered (registered: {known})")
        options, resolved = self._command_options(command, path, values)
        data: Json = {"id": command["id"], "name": root, "type": command.get("type", 1)}
        if options:
            data["options"] = options
        if resolved:
            data["resolved"] = resolved
        if guild_command is not None:
            data["guild_id"] = self.guild_id
        return await self._dispatch_interaction(
            APPLICATION_COMMAND, data, user or self.user, permissions=permissions
        )

    def _command_options(
        self, command: Json, path: list[str], values: dict[str, Any]
    ) -> tuple[list[Json], Json]:
        schema: list[Json] = command.get("options") or []
        resolved: Json = {}
        nested: list[Json] = []
        if path:
            head = next((o for o in schema if o["name"] == path[0]), None)
            if head is None or head["type"] not in (SUB_COMMAND, SUB_COMMAND_GROUP):
                raise LookupError(f"/{command['name']} has no subcommand {path[0]!r}")
            inner, resolved = self._command_options(head, path[1:], values)
            return [{"name": head["name"], "type": head["type"], "options": inner}], resolved
        by_name = {option["name"]: option for option in schema}
        for option_name, value in values.items():
            option = by_name.get(option_name)
            if option is None:
                raise LookupError(f"/{command['name']} has no option {option_name!r}")
            kind = option["type"]
            if kind == ATTACHMENT:
                filename, data = value
                attachment = self._store_file(self.channel_id, filename, data, {})
                resolved.setdefault("attachments", {})[attachment["id"]] = attachment
                value = attachment["id"]
            elif kind in (USER, MENTIONABLE) and isinstance(value, FakeUser):
                resolved.setdefault("users", {})[value.id] = value.payload()
                member = self._member_payload(value)
                del member["user"]
                resolved.setdefault("members", {})[value.id] = member
                value = value.id
            nested.append({"name": option_name, "type": kind, "value": value})
        missing = [o["name"] for o in schema if o.get("required") and o["name"] not in values]
        if missing:
            raise LookupError(f"/{command['name']} needs {', '.join(missing)}")
        return nested, resolved

    async def _press_button(
        self, message_id: str, custom_id: str, user: FakeUser | None
    ) -> SentInteraction:
        with self._changed:
            message = self.messages.get(message_id)
            if message is None:
                raise LookupError(f"no message {message_id}")
            button = next(
                (b for b in self.buttons(message) if b.get("custom_id") == custom_id), None
            )
            if button is None:
                ids = [b.get("custom_id") for b in self.buttons(message)]
                raise LookupError(f"message {message_id} has no button {custom_id!r}: {ids}")
            if button.get("disabled"):
                raise LookupError(f"button {custom_id!r} is disabled: Discord sends no click")
            snapshot = copy.deepcopy(message)
        data = {"custom_id": custom_id, "component_type": 2}
        return await self._dispatch_interaction(
            MESSAGE_COMPONENT, data, user or self.user, message=snapshot
        )

    async def _dispatch_interaction(
        self,
        kind: int,
        data: Json,
        user: FakeUser,
        *,
        message: Json | None = None,
        permissions: int | None = None,
    ) -> SentInteraction:
        interaction_id = self.snowflake()
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(96)
        member_permissions = MEMBER_PERMISSIONS if permissions is None else permissions
        payload: Json = {
            "id": interaction_id,
            "application_id": self.application_id,
            "type": kind,
            "data": data,
            "guild_id": self.guild_id,
            "guild": {"id": self.guild_id, "locale": "en-US", "features": []},
            "channel_id": self.channel_id,
            "channel": {**self._channel_payload(), "permissions": str(member_permissions)},
            "member": self._member_payload(user, permissions=member_permissions),
            "token": token,
            "version": 1,
            "app_permissions": str(self.bot_permissions),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "entitlement_sku_ids": [],
            "authorizing_integration_owners": {"0": self.guild_id},
            "context": 0,
            "attachment_size_limit": self.upload_limit,
        }
        if message is not None:
            payload["message"] = message
        sent = SentInteraction(interaction_id, token, kind, payload, user)
        if message is not None:
            sent.source_message_id = message["id"]
        with self._changed:
            self.interactions[interaction_id] = sent
        sessions = [s for s in self.sessions.values() if s.ready and s.connected]
        if not sessions:
            raise RuntimeError("no bot is connected to the gateway")
        sent.dispatched_at = await self._dispatch(sessions[-1], "INTERACTION_CREATE", payload)
        return sent

    # -- gateway ----------------------------------------------------------------------------

    async def _send(self, connection: GatewayConnection, payload: Json) -> float:
        started = await connection.send(payload)
        with self._changed:
            self.gateway_sent.append(payload)
            self._changed.notify_all()
        return started

    async def _dispatch(self, session: GatewaySession, event: str, data: Json) -> float:
        """Send a dispatch (op 0) on the session's connection; kept for a RESUME either way."""
        with self._changed:
            session.seq += 1
            payload = {"op": 0, "t": event, "s": session.seq, "d": data}
            session.sent.append(payload)
        connection = session.connection
        if connection is None or not connection.open:
            return time.perf_counter()
        return await self._send(connection, payload)

    async def _dispatch_to_listeners(self, intent: int, event: str, data: Json) -> None:
        for session in list(self.sessions.values()):
            if session.ready and session.intents & intent:
                await self._dispatch(session, event, copy.deepcopy(data))

    async def _handle_gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False, max_msg_size=16 * MIB)
        await ws.prepare(request)
        query = dict(request.query)
        compress = query.get("compress")
        connection = GatewayConnection(ws, compress, self.split_frames)
        with self._changed:
            self.gateway_queries.append(query)
            self._changed.notify_all()
        self._connections.add(connection)
        try:
            problem = self._gateway_query_problem(query)
            if problem is not None:
                await connection.close(*problem)
                return ws
            await self._send(
                connection,
                {
                    "op": 10,
                    "d": {
                        "heartbeat_interval": self.heartbeat_interval_ms,
                        "_trace": ['["fake-gateway",{"micros":0}]'],
                    },
                    "s": None,
                    "t": None,
                },
            )
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    try:
                        payload = json.loads(message.data)
                    except ValueError:
                        await connection.close(4002, "Error while decoding payload.")
                        break
                elif message.type is WSMsgType.BINARY:
                    await connection.close(4002, "Error while decoding payload.")
                    break
                else:
                    continue
                if not isinstance(payload, dict):
                    await connection.close(4002, "Error while decoding payload.")
                    break
                with self._changed:
                    self.gateway_received.append(payload)
                    self._changed.notify_all()
                if not await self._gateway_op(connection, payload):
                    break
        finally:
            self._connections.discard(connection)
            session = connection.session
            if session is not None and session.connection is connection:
                session.connection = None
            with self._changed:
                code = connection.closed_with or ws.close_code
                if code is not None:
                    self.close_codes.append(code)
                self._changed.notify_all()
        return ws

    def _gateway_query_problem(self, query: dict[str, str]) -> tuple[int, str] | None:
        if query.get("v", "10") not in GATEWAY_VERSIONS:
            return 4012, "Invalid API version."
        if query.get("encoding", "json") != "json":
            return 4002, "This fake Discord speaks only encoding=json."
        compress = query.get("compress")
        if compress not in (None, "zlib-stream", "zstd-stream"):
            return 4000, f"Unknown compression {compress!r}."
        if compress == "zstd-stream" and zstandard is None:
            return 4000, "zstd-stream needs the zstandard module on the fake server."
        return None

    async def _gateway_op(self, connection: GatewayConnection, payload: Json) -> bool:
        """Handle one client payload; False when the connection was closed."""
        op, data = payload.get("op"), payload.get("d")
        if op == 1:
            with self._changed:
                self.heartbeats += 1
            await self._send(connection, {"op": 11, "d": None, "s": None, "t": None})
            return True
        if op == 2:
            if connection.session is not None:
                await connection.close(4005, "Already authenticated.")
                return False
            return await self._identify(connection, data if isinstance(data, dict) else {})
        if op == 6:
            return await self._resume(connection, data if isinstance(data, dict) else {})
        if connection.session is None:
            await connection.close(4003, "Not authenticated.")
            return False
        if op in (3, 4, 8, 31):  # presence, voice state, request members, soundboard sounds
            return True
        await connection.close(4001, "Unknown opcode.")
        return False

    async def _identify(self, connection: GatewayConnection, data: Json) -> bool:
        with self._changed:
            self.identifies.append(data)
            self._changed.notify_all()
        if data.get("token") != self.token:
            await connection.close(4004, "Authentication failed.")
            return False
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0 or intents >= 1 << 26:
            await connection.close(4013, "Invalid intent(s).")
            return False
        if intents & PRIVILEGED_INTENTS & ~self.allowed_privileged_intents:
            await connection.close(4014, "Disallowed intent(s).")
            return False
        shard = data.get("shard")
        if shard is not None and (
            not isinstance(shard, list) or len(shard) != 2 or not 0 <= shard[0] < shard[1]
        ):
            await connection.close(4010, "Invalid shard.")
            return False
        session = GatewaySession(secrets.token_hex(16), intents, data, connection=connection)
        connection.session = session
        with self._changed:
            self.sessions[session.id] = session
        ready: Json = {
            "v": 10,
            "user": {
                **self.bot_user.payload(),
                "verified": True,
                "mfa_enabled": False,
                "email": None,
                "locale": "en-US",
            },
            "guilds": [{"id": self.guild_id, "unavailable": True}],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": self.application_id, "flags": 0},
            "private_channels": [],
            "presences": [],
            "relationships": [],
            "guild_join_requests": [],
            "user_settings": {},
            "geo_ordered_rtc_regions": ["local"],
            "auth": {},
            "_trace": ['["fake-gateway",{"micros":0}]'],
        }
        if shard is not None:
            ready["shard"] = shard
        await self._dispatch(session, "READY", ready)
        if intents & INTENT_GUILDS:
            await self._dispatch(session, "GUILD_CREATE", self._guild_payload(intents))
        with self._changed:
            session.ready = True
            self._changed.notify_all()
        return True

    async def _resume(self, connection: GatewayConnection, data: Json) -> bool:
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or data.get("token") != self.token:
            await self._send(connection, {"op": 9, "d": False, "s": None, "t": None})
            return True
        old = session.connection
        if old is not None and old is not connection and old.open:
            await old.close(4000, "Session resumed elsewhere.")
        session.connection = connection
        connection.session = session
        seq = data.get("seq") or 0
        for payload in [p for p in session.sent if p["s"] > seq]:
            await self._send(connection, payload)
        await self._dispatch(session, "RESUMED", {"_trace": ['["fake-gateway",{"micros":0}]']})
        with self._changed:
            self._changed.notify_all()
        return True

    # -- REST -------------------------------------------------------------------------------

    def _build_routes(self) -> list[_Route]:
        snow = r"(\d+)"
        token = r"([^/]+)"
        message_limit = (5, 5.0)
        webhook_limit = (5, 2.0)
        table: list[tuple[str, str, RouteHandler, tuple[int, float] | None, bool]] = [
            ("GET", r"/users/@me", self._get_me, (50, 1.0), True),
            ("GET", rf"/users/{snow}", self._get_user, (50, 1.0), True),
            ("GET", r"/gateway", self._get_gateway, None, False),
            ("GET", r"/gateway/bot", self._get_gateway_bot, (50, 1.0), True),
            ("GET", r"/oauth2/applications/@me", self._get_application, (50, 1.0), True),
            ("GET", r"/applications/@me", self._get_application, (50, 1.0), True),
            ("GET", rf"/applications/{snow}/commands", self._get_commands, (50, 1.0), True),
            ("PUT", rf"/applications/{snow}/commands", self._put_commands, (5, 20.0), True),
            (
                "GET",
                rf"/applications/{snow}/guilds/{snow}/commands",
                self._get_commands,
                (50, 1.0),
                True,
            ),
            (
                "PUT",
                rf"/applications/{snow}/guilds/{snow}/commands",
                self._put_commands,
                (5, 20.0),
                True,
            ),
            (
                "POST",
                rf"/interactions/{snow}/{token}/callback",
                self._post_callback,
                None,
                False,
            ),
            ("POST", rf"/webhooks/{snow}/{token}", self._post_webhook, webhook_limit, False),
            (
                "GET",
                rf"/webhooks/{snow}/{token}/messages/(@original|\d+)",
                self._get_webhook_message,
                webhook_limit,
                False,
            ),
            (
                "PATCH",
                rf"/webhooks/{snow}/{token}/messages/(@original|\d+)",
                self._patch_webhook_message,
                webhook_limit,
                False,
            ),
            (
                "DELETE",
                rf"/webhooks/{snow}/{token}/messages/(@original|\d+)",
                self._delete_webhook_message,
                webhook_limit,
                False,
            ),
            ("GET", rf"/channels/{snow}", self._get_channel, (50, 1.0), True),
            ("GET", rf"/channels/{snow}/messages", self._get_messages, (50, 1.0), True),
            ("POST", rf"/channels/{snow}/messages", self._post_message, message_limit, True),
            (
                "GET",
                rf"/channels/{snow}/messages/{snow}",
                self._get_message,
                (50, 1.0),
                True,
            ),
            (
                "PATCH",
                rf"/channels/{snow}/messages/{snow}",
                self._patch_message,
                message_limit,
                True,
            ),
            (
                "DELETE",
                rf"/channels/{snow}/messages/{snow}",
                self._delete_message,
                message_limit,
                True,
            ),
            ("POST", rf"/channels/{snow}/typing", self._post_typing, (5, 5.0), True),
            ("GET", rf"/guilds/{snow}", self._get_guild, (50, 1.0), True),
            ("GET", rf"/guilds/{snow}/channels", self._get_guild_channels, (50, 1.0), True),
            ("GET", rf"/guilds/{snow}/members/{snow}", self._get_member, (50, 1.0), True),
        ]
        return [
            _Route(method, re.compile(pattern), handler, limit, auth)
            for method, pattern, handler, limit, auth in table
        ]

    async def _handle_stray(self, request: web.Request) -> web.Response:
        log.warning("fake Discord: request outside /api: %s %s", request.method, request.path)
        return _json_response(404, {"message": "404: Not Found", "code": 0})

    async def _handle_cdn(self, request: web.Request) -> web.Response:
        """Attachment URLs (Discord's CDN): ``/attachments/{channel}/{id}/{filename}``."""
        parts = request.match_info["tail"].split("/")
        data = self._files.get(parts[1]) if len(parts) == 3 else None
        if data is None:
            return web.Response(status=404, text="Not Found")
        content_type = mimetypes.guess_type(parts[2])[0] or "application/octet-stream"
        return web.Response(body=data, content_type=content_type)

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        tail = request.match_info["tail"]
        version, _, rest = tail.partition("/")
        if not version.startswith("v") or version[1:] not in API_VERSIONS:
            rest = tail  # unversioned requests: Discord's default version; routed the same
        path = "/" + rest.rstrip("/")
        recorded = RecordedRequest(
            index=0,
            method=request.method,
            path=path,
            query=dict(request.query),
            headers=dict(request.headers),
            json=None,
            files=[],
            received_at=time.perf_counter(),
        )
        with self._changed:
            recorded.index = len(self.requests)
            self.requests.append(recorded)
        headers: dict[str, str] = {}
        try:
            recorded.json, recorded.files = await _read_body(request)
            route, match = self._route(recorded)
            if route.auth and request.headers.get("Authorization") != f"Bot {self.token}":
                raise ApiError(401, 0, "401: Unauthorized")
            self._injected_failure(recorded)
            if route.limit is not None:
                headers = self._rate_limit(recorded, route, match)
            status, body = await route.handler(recorded, match)
        except ApiError as error:
            status, body = error.status, error.body
            if status == 429:
                headers.update(self._retry_headers(body))
        except Exception:
            log.exception("fake Discord: %s %s failed", request.method, path)
            status, body = 500, {"message": "500: Internal Server Error", "code": 0}
        with self._changed:
            recorded.status, recorded.response = status, body
            self._changed.notify_all()
        if status >= 400:
            log.info("fake Discord: %s %s -> %d %s", request.method, path, status, body)
        return _json_response(status, body, headers)

    def _route(self, recorded: RecordedRequest) -> tuple[_Route, re.Match[str]]:
        allowed = False
        for route in self._routes:
            match = route.pattern.fullmatch(recorded.path)
            if match is None:
                continue
            if route.method == recorded.method:
                return route, match
            allowed = True
        with self._changed:
            self.unhandled.append(recorded)
        log.warning("fake Discord: unimplemented route %s %s", recorded.method, recorded.path)
        if allowed:
            raise ApiError(405, 0, "405: Method Not Allowed")
        raise ApiError(404, 0, "404: Not Found")

    def _injected_failure(self, recorded: RecordedRequest) -> None:
        with self._changed:
            for failure in self._failures:
                if failure.remaining <= 0 or failure.method != recorded.method:
                    continue
                if failure.pattern.fullmatch(recorded.path) is None:
                    continue
                failure.remaining -= 1
                if failure.status == 429:
                    error = ApiError(429, 0, "You are being rate limited.")
                    error.body.update(retry_after=failure.retry_after, **{"global": False})
                    error.body["global"] = failure.is_global
                    raise error
                raise ApiError(failure.status, 0, f"{failure.status}: Server Error")

    def _rate_limit(
        self, recorded: RecordedRequest, route: _Route, match: re.Match[str]
    ) -> dict[str, str]:
        """Per-route buckets keyed by the major parameter, and Discord's global 50/s."""
        assert route.limit is not None
        limit, window = route.limit
        now = time.monotonic()
        if not self.rate_limits:
            return {}
        while self._recent and now - self._recent[0] > 1.0:
            self._recent.popleft()
        if len(self._recent) >= 50 and route.auth:
            error = ApiError(429, 0, "You are being rate limited.")
            error.body.update(retry_after=round(1.0 - (now - self._recent[0]), 3))
            error.body["global"] = True
            raise error
        self._recent.append(now)
        # The major parameters: the channel, guild or application id; for (interaction)
        # webhooks the id and the token, so every interaction has its own bucket.
        groups = match.groups()
        if recorded.path.startswith("/webhooks/"):
            major = "/".join(groups[:2])
        else:
            major = groups[0] if groups else ""
        key = (route.method, route.pattern.pattern, major)
        bucket = self._buckets.get(key)
        if bucket is None or now >= bucket.reset_at:
            bucket = _Bucket(limit, window, now + window, limit)
            self._buckets[key] = bucket
        reset_after = max(bucket.reset_at - now, 0.0)
        bucket_hash = hashlib.sha1(f"{route.method} {route.pattern.pattern}".encode()).hexdigest()
        if bucket.remaining <= 0:
            error = ApiError(429, 0, "You are being rate limited.")
            error.body.update(retry_after=round(reset_after, 3))
            error.body["global"] = False
            raise error
        bucket.remaining -= 1
        return {
            "X-RateLimit-Limit": str(bucket.limit),
            "X-RateLimit-Remaining": str(bucket.remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket_hash[:32],
        }

    @staticmethod
    def _retry_headers(body: Json) -> dict[str, str]:
        retry_after = float(body.get("retry_after", 1.0))
        headers = {
            "Retry-After": str(max(1, int(retry_after + 0.999))),
            "X-RateLimit-Scope": "global" if body.get("global") else "user",
        }
        if body.get("global"):
            headers["X-RateLimit-Global"] = "true"
        return headers

    # users, gateway, application

    async def _get_me(self, recorded: RecordedRequest, match: re.Match[str]) -> tuple[int, Any]:
        return 200, {
            **self.bot_user.payload(),
            "verified": True,
            "mfa_enabled": False,
            "locale": "en-US",
            "email": None,
            "bio": "",
        }

    async def _get_user(self, recorded: RecordedRequest, match: re.Match[str]) -> tuple[int, Any]:
        user = self.users.get(match.group(1))
        if user is None:
            raise ApiError(404, 10013, "Unknown User")
        return 200, user.payload()

    async def _get_gateway(
        self, recorded: RecordedRequest, match: re.Match[str]
    ) -> tuple[int, Any]:
        return 200, {"url": self.gateway_url}

    async def _get_gateway_bot(
        self, recorded: RecordedRequest, match: re.Match[str]
    ) -> tuple[int, Any]:
        return 200, {
            "url": self.gateway_url,
            "shards": 1,
            "session_start_limit": {
                "total": 1000,
                "remaining": 999,
                "reset_after": 14400000,
                "max_concurrency": 1,
            },
        }

    async def _get_application(
        self, recorded: RecordedRequest, match: re.Match[str]
    ) -> tuple[int, Any]:
        return 200, self._application_payload()

    # application commands

    def _command_scope(self, match: re.Match[str]) -> str | None:
        if match.group(1) != self.application_id:
            raise ApiError(403, 50001, "Missing Access")
        if len(match.groups()) > 1:
            if match.group(2) != self.guild_id:
                raise ApiError(403, 50001, "Missing Access")
            return match.group(2)
        return None

    async def _get_commands(
        self, recorded: RecordedRequest, match: re.Match[str]
    ) -> tuple[int, Any]:
        scope = self._command_scope(match)
        with self._changed:
            return 200, copy.deepcopy(list(self.commands.get(scope, {}).values()))

    async def _put_commands(
        self, recorded: RecordedRequest, match: re.Match[str]
    ) -> tuple[int, Any]:
        scope = self._command_scope(match)
        body = recorded.json
        if not isinstance(body, list):
            raise invalid_form((), "LIST_TYPE_CONVERT", "Must be a list.")
        if len(body) > 100:
            raise invalid_form((), "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
        seen: set[tuple[int, str]] = set()
        for index, command in enumerate(body):
            _validate_command(command, (index,))
            key = (command.get("type", 1), command["name"])
            if key in seen:
                raise invalid_form(
                    (index, "name"),
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    f"Application command names must be unique: {key[1]}",
                )
            seen.add(key)
        with self._changed:
            existing = self.commands.get(scope, {})
            registered: dict[str, Json] = {}
            for command in body:
                old = existing.get(command["name"])
                if old is None:
                    self.command_creates += 1
                registered[command["name"]] = _command_object(
                    command,
                    command_id=old["id"] if old else self.snowflake(),
                    application_id=self.application_id,
                    version=self.snowflake(),
                    guild_id=scope,
                )
            self.commands[scope] = registered
            return 200, copy.deepcopy(list(registered.values()))

    # interactions

    def _interaction(self, interaction_id: str, token: str) -> SentInteraction:
        sent = self.interactions.get(interaction_id)
        if sent is None or sent.token != token:
            raise ApiError(404, 10062, "Unknown interaction")
        return sent

    def _webhook_interaction(self, application_id: str, token: str) -> SentInteraction:
        if application_id != self.application_id:
            raise ApiError(404, 10015, "Unknown Webhook")
        sent = next((i for i in self.interactions.values() if i.token == token), None)
        if sent is None or sent.callback is None:
            raise ApiError(404, 10015, "Unknown Webhook")
        if time.perf_counter() - sent.dispatched_at > INTERACTION_TOKEN_LIFETIME:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        return sent

    async def _post_callback(
        self, recorded: RecordedRequest, match: re.Match[str]
    ) -> tuple[int, Any]:
        sent = self._interaction(match.group(1), match.group(2))
        late = (
            self.interaction_deadline is not None
            and recorded.received_at - sent.dispatched_at > self.interaction_deadline
        )
        if late and sent.callback is None:
            sent.refused_callbacks.append(recorded)
            raise ApiError(404, 10062, "Unknown interaction")
        if sent.callback is not None:
            sent.refused_callbacks.append(recorded)
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        body = recorded.json if isinstance(recorded.json, dict) else {}
        kind = body.get("type")
        if kind not in CALLBACKS_FOR.get(sent.type, ()):
            raise invalid_form(("type",), "INTERACTION_RESPONSE_TYPE_INVALID", "Invalid type.")
        data = body.get("data") or {}
        message: Json | None = None
        if kind == CHANNEL_MESSAGE_WITH_SOURCE:
            message = self._create_message(
                self.channel_id,
                data,
                recorded.files,
                flags=data.get("flags", 0) & EPHEMERAL,
                interaction=sent,
            )
            sent.original_message_id = message["id"]
        elif kind == DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE:
            flags = (data.get("flags", 0) & EPHEMERAL) | LOADING
            message = self._create_message(
                self.channel_id, {"content": ""}, [], flags=flags, interaction=sent, empty=True
            )
            sent.original_message_id = message["id"]
            sent.loading = True
        elif kind in (DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE):
            if sent.source_message_id is None:
                raise invalid_form(("type",), "INTERACTION_RESPONSE_TYPE_INVALID", "Invalid type.")
            sent.original_message_id = sent.source_message_id
            if kind == UPDATE_MESSAGE:
                message = self._edit_message(sent.source_message_id, data, recorded.files)
        with self._changed:
            sent.callback, sent.callback_type = recorded, kind
            self._changed.notify_all()
        if recorded.query.get("with_response") not in ("1", "true", "True"):
            return 204, None
        response: Json = {
            "interaction": {
                "id": sent.id,
                "type": sent.type,
                "response_message_id": sent.original_message_id,
                "response_message_loading": kind == DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
                "response_message_ephemeral": bool(
                    message is not None and message["flags"] & EPHEMERAL
                ),
            },
            "resource": {"type": kind},
        }
        if message is not None:
            response["resource"]["message"] = copy.deepcopy(message)
        return 200, response

    async def _post_webhook(
        self, recorded: RecordedRequest, match: re.Match[str]
    ) -> tuple[int, Any]:
        sent = self._webhook_interaction(match.group(1), match.group(2))
        body = recorded.json if isinstance(recorded.json, dict) else {}
        if sent.loading and sent.original_message_id is not None:
            # The first follow-up after a "thinking" defer becomes the deferred message, and
            # keeps the defer's ephemerality whatever flags it asks for.
            original = self.messages[sent.original_message_id]
            flags = original["flags"] & EPHEMERAL
            message = self._edit_message(
                original["id"], {**body, "flags": flags}, recorded.files, replace=True
            )
            sent.loading = False
        else:
            message = self._create_message(
                self.channel_id,
                body,
                recorded.files,
                flags=body.get("flags", 0) & EPHEMERAL,
                interaction=sent,
                followup=True,
            )
            sent.followup_ids.append(message["id"])
        if recorded.query.get("wait") in ("1", "true", "True"):
            return 200, copy.deepcopy(message)
        return 204, None

    def _webhook_target(self, sent: SentInteraction, which: str) -> str:
        if which == "@original":
            if sent.original_message_id is None:
                raise ApiError(404, 10008, "Unknown Message")
            return sent.original_message_id
        if which not in sent.followup_ids and which != sent.original_message_id:
            raise ApiError(404, 10008, "Unknown Message")
        return which

    async def _get_webhook_message(
        self, recorded: RecordedRequest, match: re.Match[str]
    ) -> tuple[int, Any]:
        sent = self._webhook_interaction(match.group(1), match.group(2))
        message_id = self._webhook_target(sent, match.group(3))
        return 200, copy.deepcopy(self._message(message_id))

    async def _patch_webhook_message(
        self, recorded: RecordedRequest, match: re.Match[str]
    ) -> tuple[int, Any]:
        sent = self._webhook_interaction(match.group(1), match.group(2))
        message_id = self._webhook_target(sent, match.group(3))
        body = recorded.json if isinstance(recorded.json, dict) else {}
        message = self._edit_message(message_id, body, recorded.files, replace=sent.loading)
        if message_id == sent.original_message_id:
            sent.loading = False
        return 200, copy.deepcopy(message)

    async def _delete_webhook_message(
        self, recorded: RecordedRequest, match: re.Match[str]
    ) -> tuple[int, Any]:
        sent = self._webhook_interaction(match.group(1), match.group(2))
        self._remove_message(self._webhook_target(sent, match.group(3)))
        return 204, None

    # channels and messages

    def _check_channel(self, channel_id: str) -> None:
        if channel_id != self.channel_id:
            raise ApiError(404, 10003, "Unknown Channel")

    def _message(self, message_id: str, channel_id: str | None = None) -> Json:
        message = self.messages.get(message_id)
        if message is None or (channel_id is not None and message["channel_id"] != channel_id):
            raise ApiError(404, 10008, "Unknown Message")
        return message

    async def _get_channel(
        self, recorded: RecordedRequest, match: re.Match[str]
    ) -> tuple[int, Any]:
        self._check_channel(match.group(1))
        return 200, self._channel_payload()

    async def _get_messages(
        self, recorded: RecordedRequest, match: re.Match[str]
    ) -> tuple[int, Any]:
        self._check_channel(match.group(1))
        limit = int(recorded.query.get("limit", "50"))
        visible = [m for m in self.messages.values() if not m["flags"] & EPHEMERAL]
        return 200, copy.deepcopy(list(reversed(visible))[:limit])

    async def _get_message(
        self, recorded: RecordedRequest, match: re.Match[str]
    ) -> tuple[int, Any]:
        self._check_channel(match.group(1))
        message = self._message(match.group(2), match.group(1))
        if message["flags"] & EPHEMERAL:
            raise ApiError(404, 10008, "Unknown Message")
        return 200, copy.deepcopy(message)

    async def _post_message(
        self, recorded: RecordedRequest, match: re.Match[str]
    ) -> tuple[int, Any]:
        channel_id = match.group(1)
        self._check_channel(channel_id)
        body = recorded.json if isinstance(recorded.json, dict) else {}
        needed = VIEW_CHANNEL | SEND_MESSAGES | (ATTACH_FILES if recorded.files else 0)
        if self.bot_permissions & needed != needed:
            raise ApiError(403, 50013, "Missing Permissions")
        if body.get("flags", 0) & EPHEMERAL:
            raise invalid_form(("flags",), "MESSAGE_FLAGS_INVALID", "Invalid flags.")
        message = self._create_message(channel_id, body, recorded.files, flags=0)
        return 200, copy.deepcopy(message)

    async def _patch_message(
        self, recorded: RecordedRequest, match: re.Match[str]
    ) -> tuple[int, Any]:
        self._check_channel(match.group(1))
        message = self._message(match.group(2), match.group(1))
        if message["author"]["id"] != self.bot_user.id or message["flags"] & EPHEMERAL:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        body = recorded.json if isinstance(recorded.json, dict) else {}
        return 200, copy.deepcopy(self._edit_message(message["id"], body, recorded.files))

    async def _delete_message(
        self, recorded: RecordedRequest, match: re.Match[str]
    ) -> tuple[int, Any]:
        self._check_channel(match.group(1))
        self._remove_message(self._message(match.group(2), match.group(1))["id"])
        return 204, None

    async def _post_typing(
        self, recorded: RecordedRequest, match: re.Match[str]
    ) -> tuple[int, Any]:
        self._check_channel(match.group(1))
        return 204, None

    async def _get_guild(self, recorded: RecordedRequest, match: re.Match[str]) -> tuple[int, Any]:
        if match.group(1) != self.guild_id:
            raise ApiError(404, 10004, "Unknown Guild")
        guild = self._guild_payload(0)
        for key in ("members", "channels", "threads", "presences", "voice_states", "joined_at"):
            guild.pop(key, None)
        return 200, guild

    async def _get_guild_channels(
        self, recorded: RecordedRequest, match: re.Match[str]
    ) -> tuple[int, Any]:
        if match.group(1) != self.guild_id:
            raise ApiError(404, 10004, "Unknown Guild")
        return 200, [self._channel_payload()]

    async def _get_member(self, recorded: RecordedRequest, match: re.Match[str]) -> tuple[int, Any]:
        user = self.users.get(match.group(2))
        if match.group(1) != self.guild_id or user is None:
            raise ApiError(404, 10007, "Unknown Member")
        return 200, self._member_payload(user)

    # message state

    def _store_file(self, channel_id: str, filename: str, data: bytes, meta: Json) -> Json:
        attachment_id = self.snowflake()
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        url = f"{self.base_url}/attachments/{channel_id}/{attachment_id}/{filename}"
        attachment: Json = {
            "id": attachment_id,
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": url,
            "content_type": content_type,
        }
        size = _image_size(data) if content_type.startswith("image/") else None
        if size is not None:
            attachment["width"], attachment["height"] = size
        for key in ("description", "title"):
            if meta.get(key):
                attachment[key] = meta[key]
        with self._changed:
            self._files[attachment_id] = data
        return attachment

    def _attachments(
        self, channel_id: str, body: Json, uploads: list[Upload], existing: list[Json]
    ) -> list[Json]:
        """The message's attachments after this request: kept ones, then the uploads."""
        entries = body.get("attachments")
        if entries is None:
            kept = list(existing)
            meta: dict[int, Json] = {}
        else:
            if not isinstance(entries, list):
                raise invalid_form(("attachments",), "LIST_TYPE_CONVERT", "Must be a list.")
            wanted = {str(entry.get("id")) for entry in entries if isinstance(entry, dict)}
            kept = [attachment for attachment in existing if attachment["id"] in wanted]
            # New files are referred to by their upload index; kept ones by their snowflake.
            meta = {
                int(entry["id"]): entry
                for entry in entries
                if isinstance(entry, dict) and str(entry.get("id", "")).isdigit()
            }
        added: list[Json] = []
        for position, upload in enumerate(uploads):
            field_match = FILE_FIELD.match(upload.field)
            index = int(field_match.group(1)) if field_match else position
            if len(upload.data) > self.upload_limit:
                raise ApiError(413, 40005, "Request entity too large")
            entry = meta.get(index, {})
            filename = str(entry.get("filename") or upload.filename)
            added.append(self._store_file(channel_id, filename, upload.data, entry))
        result = kept + added
        if len(result) > 10:
            raise invalid_form(
                ("attachments",), "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length."
            )
        return result

    def _mentions(self, content: str, allowed: Any) -> tuple[list[Json], list[str], bool]:
        parse: list[str] = ["users", "roles", "everyone"]
        allowed_users: list[str] = []
        if isinstance(allowed, dict):
            parse = list(allowed.get("parse") or [])
            allowed_users = [str(user) for user in allowed.get("users") or []]
        users = [
            self.users[user_id].payload()
            for user_id in dict.fromkeys(MENTION.findall(content))
            if user_id in self.users and ("users" in parse or user_id in allowed_users)
        ]
        roles = list(dict.fromkeys(ROLE_MENTION.findall(content))) if "roles" in parse else []
        everyone = (
            ("@everyone" in content or "@here" in content)
            and "everyone" in parse
            and bool(self.bot_permissions & MENTION_EVERYONE)
        )
        return users, roles, everyone

    def _create_message(
        self,
        channel_id: str,
        body: Json,
        uploads: list[Upload],
        *,
        flags: int,
        interaction: SentInteraction | None = None,
        followup: bool = False,
        empty: bool = False,
    ) -> Json:
        _validate_message_body(body)
        message_id = self.snowflake()
        content = str(body.get("content") or "")
        attachments = self._attachments(channel_id, body, uploads, [])
        if not empty and not (
            content or body.get("embeds") or body.get("components") or attachments
        ):
            raise ApiError(400, 50006, "Cannot send an empty message")
        users, roles, everyone = self._mentions(content, body.get("allowed_mentions"))
        message: Json = {
            "id": message_id,
            "channel_id": channel_id,
            "type": DEFAULT_MESSAGE,
            "content": content,
            "author": self.bot_user.payload(),
            "attachments": attachments,
            "embeds": body.get("embeds") or [],
            "mentions": users,
            "mention_roles": roles,
            "mention_everyone": everyone,
            "pinned": False,
            "tts": bool(body.get("tts", False)),
            "timestamp": now_iso(),
            "edited_timestamp": None,
            "flags": flags,
            "components": _stored_components(body.get("components") or []),
        }
        if body.get("nonce") is not None:
            message["nonce"] = body["nonce"]
        if interaction is not None:
            message["webhook_id"] = self.application_id
            message["application_id"] = self.application_id
            message["interaction_metadata"] = {
                "id": interaction.id,
                "type": interaction.type,
                "user": interaction.user.payload(),
                "authorizing_integration_owners": {"0": self.guild_id},
            }
            if interaction.type == APPLICATION_COMMAND and not followup:
                message["type"] = CHAT_INPUT_COMMAND
                message["interaction_metadata"]["name"] = interaction.payload["data"]["name"]
            elif interaction.source_message_id is not None:
                message["type"] = REPLY if not followup else DEFAULT_MESSAGE
        with self._changed:
            self.messages[message_id] = message
            self.message_history[message_id] = [copy.deepcopy(message)]
            self._changed.notify_all()
        if not flags & EPHEMERAL and self._loop is not None:
            event = {**copy.deepcopy(message), "guild_id": self.guild_id}
            self._background(
                self._dispatch_to_listeners(INTENT_GUILD_MESSAGES, "MESSAGE_CREATE", event)
            )
        return message

    def _edit_message(
        self, message_id: str, body: Json, uploads: list[Upload], *, replace: bool = False
    ) -> Json:
        """Apply an edit. ``replace``: fill a deferred (loading) message, keeping its id."""
        _validate_message_body(body)
        with self._changed:
            message = copy.deepcopy(self._message(message_id))
        if "content" in body:
            message["content"] = str(body["content"] or "")
        if "embeds" in body:
            message["embeds"] = body["embeds"] or []
        if "components" in body:
            message["components"] = _stored_components(body["components"] or [])
        if "flags" in body and body["flags"] is not None:
            # Only SUPPRESS_EMBEDS may change on an edit; the rest of the flags stay.
            message["flags"] = (message["flags"] & ~(1 << 2)) | (body["flags"] & (1 << 2))
        if replace:
            message["flags"] &= ~LOADING
        message["attachments"] = self._attachments(
            message["channel_id"], body, uploads, message["attachments"]
        )
        if "content" in body or "allowed_mentions" in body:
            users, roles, everyone = self._mentions(
                message["content"], body.get("allowed_mentions")
            )
            message.update(mentions=users, mention_roles=roles, mention_everyone=everyone)
        if not (
            message["content"]
            or message["embeds"]
            or message["components"]
            or message["attachments"]
        ):
            raise ApiError(400, 50006, "Cannot send an empty message")
        if not replace:
            message["edited_timestamp"] = now_iso()
        with self._changed:
            self.messages[message_id] = message
            self.message_history[message_id].append(copy.deepcopy(message))
            self._changed.notify_all()
        if not message["flags"] & EPHEMERAL and self._loop is not None:
            event = {**copy.deepcopy(message), "guild_id": self.guild_id}
            self._background(
                self._dispatch_to_listeners(INTENT_GUILD_MESSAGES, "MESSAGE_UPDATE", event)
            )
        return message

    def _background(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run ``coroutine`` on the server's loop after the current response (a gateway event
        that follows a REST call, as on Discord), keeping the task referenced until done."""
        assert self._loop is not None
        task = self._loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _remove_message(self, message_id: str) -> None:
        with self._changed:
            message = self.messages.pop(message_id, None)
            self._changed.notify_all()
        if message is not None and not message["flags"] & EPHEMERAL and self._loop is not None:
            event = {"id": message_id, "channel_id": message["channel_id"]}
            event["guild_id"] = self.guild_id
            self._background(
                self._dispatch_to_listeners(INTENT_GUILD_MESSAGES, "MESSAGE_DELETE", event)
            )


# -- helpers ---------------------------------------------------------------------------------


def _json_response(
    status: int, body: Any, headers: Mapping[str, str] | None = None
) -> web.Response:
    # Discord's responses come through Google's front end; discord.py treats a 429 without
    # this header as a Cloudflare ban.
    all_headers = {"Via": "1.1 google", **(headers or {})}
    if status == 204:
        return web.Response(status=204, headers=all_headers)
    # Exactly "application/json", no charset, as Discord sends it (discord.py compares it).
    all_headers["Content-Type"] = "application/json"
    return web.Response(
        status=status, body=json.dumps(body, separators=(",", ":")).encode(), headers=all_headers
    )


async def _read_body(request: web.Request) -> tuple[Any, list[Upload]]:
    """JSON, or ``multipart/form-data`` with ``payload_json`` and ``files[n]`` parts."""
    if request.content_type.startswith("multipart/"):
        payload: Any = None
        fields: Json = {}
        uploads: list[Upload] = []
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader):
                continue
            data = await part.read(decode=True)
            if part.filename is not None:
                content_type = part.headers.get("Content-Type", "application/octet-stream")
                uploads.append(Upload(part.name or "", part.filename, content_type, bytes(data)))
            elif part.name == "payload_json":
                payload = _parse_json(bytes(data))
            elif part.name:
                fields[part.name] = bytes(data).decode()
        if payload is None:
            payload = fields
        return payload, uploads
    raw = await request.read()
    if not raw:
        return None, []
    return _parse_json(raw), []


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError(400, 50109, "The request body contains invalid JSON.") from None


def _image_size(data: bytes) -> tuple[int, int] | None:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is a test dependency
        return None
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:
        return None


def _validate_message_body(body: Json) -> None:
    content = body.get("content")
    if content is not None and len(str(content)) > 2000:
        raise invalid_form(("content",), "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
    embeds = body.get("embeds")
    if embeds is not None and len(embeds) > 10:
        raise invalid_form(("embeds",), "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    components = body.get("components")
    if components:
        _validate_components(components)


def _validate_components(rows: Any) -> None:
    """Classic components: up to 5 action rows of up to 5 buttons (or one select menu)."""
    if not isinstance(rows, list):
        raise invalid_form(("components",), "LIST_TYPE_CONVERT", "Must be a list.")
    if len(rows) > 5:
        raise invalid_form(("components",), "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
    custom_ids: set[str] = set()
    for row_index, row in enumerate(rows):
        where: tuple[str | int, ...] = ("components", row_index)
        if not isinstance(row, dict) or row.get("type") != 1:
            raise invalid_form((*where, "type"), "UNION_TYPE_CHOICES", "Value must be 1.")
        children = row.get("components") or []
        if not 1 <= len(children) <= 5:
            raise invalid_form(
                (*where, "components"),
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 5 in length.",
            )
        for child_index, child in enumerate(children):
            at = (*where, "components", child_index)
            kind = child.get("type")
            if kind == 2:
                style = child.get("style")
                if style not in (1, 2, 3, 4, 5, 6):
                    raise invalid_form((*at, "style"), "BASE_TYPE_CHOICES", "Invalid style.")
                if len(str(child.get("label") or "")) > 80:
                    raise invalid_form(
                        (*at, "label"), "BASE_TYPE_MAX_LENGTH", "Must be 80 or fewer in length."
                    )
                if style == 5:
                    if not child.get("url"):
                        raise invalid_form((*at, "url"), "BASE_TYPE_REQUIRED", "Required.")
                    continue
                if style == 6:
                    continue
                if not child.get("label") and not child.get("emoji"):
                    raise invalid_form(
                        at, "BUTTON_COMPONENT_LABEL_OR_EMOJI", "A label or emoji is required."
                    )
            elif kind in (3, 5, 6, 7, 8):
                if len(children) != 1:
                    raise invalid_form(
                        (*where, "components"),
                        "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                        "A select menu takes a whole row.",
                    )
            else:
                raise invalid_form((*at, "type"), "UNION_TYPE_CHOICES", "Invalid component.")
            custom_id = child.get("custom_id")
            if not isinstance(custom_id, str) or not 1 <= len(custom_id) <= 100:
                raise invalid_form(
                    (*at, "custom_id"),
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 100 in length.",
                )
            if custom_id in custom_ids:
                raise invalid_form(
                    (*at, "custom_id"),
                    "COMPONENT_CUSTOM_ID_DUPLICATED",
                    "Component custom id cannot be duplicated",
                )
            custom_ids.add(custom_id)


def _stored_components(rows: list[Json]) -> list[Json]:
    """Components as Discord returns them: each with a numeric ``id``, defaults filled in."""
    counter = itertools.count(1)
    stored: list[Json] = []
    for row in rows:
        children = []
        for child in row.get("components") or []:
            item = {"id": next(counter), **copy.deepcopy(child)}
            if item.get("type") == 2:
                item.setdefault("disabled", False)
            children.append(item)
        stored.append({"type": 1, "id": next(counter), "components": children})
    return stored


def _validate_command(command: Any, at: tuple[str | int, ...]) -> None:
    if not isinstance(command, dict):
        raise invalid_form(at, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
    name = command.get("name")
    if not isinstance(name, str) or not COMMAND_NAME.match(name):
        raise invalid_form((*at, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Invalid name.")
    kind = command.get("type", 1)
    if kind == 1:
        if name != name.lower():
            raise invalid_form(
                (*at, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Names must be lowercase."
            )
        description = command.get("description")
        if not isinstance(description, str) or not 1 <= len(description) <= 100:
            raise invalid_form(
                (*at, "description"),
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            )
    _validate_options(command.get("options") or [], (*at, "options"))


def _validate_options(options: Any, at: tuple[str | int, ...]) -> None:
    if not isinstance(options, list):
        raise invalid_form(at, "LIST_TYPE_CONVERT", "Must be a list.")
    if len(options) > 25:
        raise invalid_form(at, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    seen_optional = False
    names: set[str] = set()
    for index, option in enumerate(options):
        where = (*at, index)
        name = option.get("name")
        if not isinstance(name, str) or not COMMAND_NAME.match(name) or name != name.lower():
            raise invalid_form((*where, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Invalid.")
        if name in names:
            raise invalid_form(
                (*where, "name"), "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Duplicate."
            )
        names.add(name)
        description = option.get("description")
        if not isinstance(description, str) or not 1 <= len(description) <= 100:
            raise invalid_form(
                (*where, "description"),
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            )
        kind = option.get("type")
        if kind not in range(1, 12):
            raise invalid_form((*where, "type"), "BASE_TYPE_CHOICES", "Invalid option type.")
        if kind in (SUB_COMMAND, SUB_COMMAND_GROUP):
            _validate_options(option.get("options") or [], (*where, "options"))
            continue
        if option.get("required"):
            if seen_optional:
                raise invalid_form(
                    (*where, "required"),
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            seen_optional = True


def _command_object(
    command: Json, *, command_id: str, application_id: str, version: str, guild_id: str | None
) -> Json:
    """A command as Discord returns it from a bulk overwrite."""
    kind = command.get("type", 1)
    stored: Json = {
        "id": command_id,
        "application_id": application_id,
        "version": version,
        "default_member_permissions": command.get("default_member_permissions"),
        "type": kind,
        "name": command["name"],
        "name_localizations": command.get("name_localizations"),
        "description": command.get("description", "") if kind == 1 else "",
        "description_localizations": command.get("description_localizations"),
        "dm_permission": command.get("dm_permission", True),
        "contexts": command.get("contexts"),
        "integration_types": command.get("integration_types") or [0],
        "nsfw": bool(command.get("nsfw", False)),
    }
    if command.get("options"):
        stored["options"] = copy.deepcopy(command["options"])
    if guild_id is not None:
        stored["guild_id"] = guild_id
    return stored


def iter_custom_ids(message: Json) -> Iterator[str]:
    """The custom_ids of a message's buttons, in order."""
    for row in message.get("components") or []:
        for component in row.get("components", []):
            if component.get("custom_id"):
                yield str(component["custom_id"])


def main() -> None:  # pragma: no cover - a manual tool
    """Keep a fake Discord running and print the environment that points a bot at it."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    with FakeDiscord(interaction_deadline=None) as server:
        for key, value in server.env().items():
            print(f"export {key}={value}")
        print("Type a prompt and Enter to send /imagine; Ctrl-D to stop.", flush=True)
        try:
            server.wait_for_ready(timeout=600)
            while True:
                line = input()
                sent = server.send_command("imagine", {"prompt": line})
                callback = server.wait_for_callback(sent, timeout=30)
                print(f"interaction {sent.id}: callback {callback.json} in {sent.latency:.4f} s")
        except (EOFError, KeyboardInterrupt, TimeoutError) as error:
            print(f"stopping: {error!r}")


if __name__ == "__main__":  # pragma: no cover
    main()
