"""``imagine-bot run`` and ``imagine-bot sync``: the bot against Discord (or a stand-in)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import discord
import yarl

from imagine_bot.app import ImagineApp
from imagine_bot.bot.client import ImagineBot
from imagine_bot.bot.lifecycle import log_in, serve
from imagine_bot.bot.logs import configure_logging
from imagine_bot.config import Settings
from imagine_bot.engine.errors import UserError
from imagine_bot.engine.sources import check_sources

log = logging.getLogger(__name__)

TOKEN_ENV = "DISCORD_TOKEN"
API_BASE_ENV = "DISCORD_API_BASE"
GATEWAY_ENV = "DISCORD_GATEWAY_URL"


def discord_token(env: Mapping[str, str] = os.environ) -> str:
    token = env.get(TOKEN_ENV, "").strip()
    if not token:
        raise UserError(
            f"Set {TOKEN_ENV} to your bot's token "
            "(Discord Developer Portal > your application > Bot > Reset Token)."
        )
    return token


def use_endpoints(env: Mapping[str, str] = os.environ) -> None:
    """Point discord.py at another REST base and gateway: a rate-limit proxy or a test server."""
    if api_base := env.get(API_BASE_ENV):
        discord.http.Route.BASE = api_base.rstrip("/")
    if gateway := env.get(GATEWAY_ENV):
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)


async def run_bot(settings: Settings) -> None:
    """Start the queue and log in, so a wrong token or an unreachable Discord ends at once
    (one line, before any model warm-up); then warm up and serve until SIGTERM or SIGINT,
    when the running job goes back to the queue."""
    token = discord_token()
    use_endpoints()
    app = ImagineApp.build(settings)
    await app.start()
    try:
        async with ImagineBot(app) as bot:
            await log_in(bot, token)
            # From here on: before it, a failed start is the one line of its UserError.
            configure_logging(settings.logging)
            # Found now rather than by the first member who picks that model or LoRA (Ray
            # workers read paths on their own nodes: `imagine-bot check` there).
            local = settings.workers.backend == "local"
            for finding in check_sources(settings) if local else []:
                (log.error if finding.broken else log.info)("%s", finding)
            app.start_workers()
            await serve(bot, app)
    finally:
        await app.stop()
        log.info("stopped")


async def sync_commands(settings: Settings, guild_id: int | None) -> int:
    token = discord_token()
    use_endpoints()
    app = ImagineApp.build(settings)
    try:
        async with ImagineBot(app, serve=False) as bot:
            await log_in(bot, token)
            return await bot.sync_commands(guild_id)
    finally:
        app.workers.close()
