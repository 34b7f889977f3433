"""Starting and stopping the bot as an admin expects: one line when it is up, one line when it
cannot start, and a clean stop on SIGTERM or SIGINT (also as PID 1 in a container, where no
default signal handler exists: the event loop's own handlers do the work)."""

from __future__ import annotations

import asyncio
import logging
import signal

import aiohttp
import discord

from imagine_bot.app import ImagineApp
from imagine_bot.bot.client import ImagineBot
from imagine_bot.engine.errors import UserError

INVITE_PERMISSIONS = discord.Permissions(274878024704)
"""The README's set: view channels, send messages (also in threads), embed links, attach files
and read message history."""
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
PAUSED_NOTE = "the queue is PAUSED (an admin's /admin pause; /admin resume starts it); "

log = logging.getLogger(__name__)


async def log_in(bot: ImagineBot, token: str) -> None:
    """Log in over REST, or say in one sentence why not (``UserError``)."""
    try:
        await bot.login(token)
    except discord.LoginFailure:
        raise UserError(
            "Discord refused the bot token. Copy it again from the Developer Portal "
            "(your application > Bot > Reset Token) into DISCORD_TOKEN."
        ) from None
    except (aiohttp.ClientError, OSError) as error:
        raise UserError(
            f"Could not reach Discord at {discord.http.Route.BASE} ({type(error).__name__}: "
            f"{error}). Check this machine's network, DNS and proxy, then start again."
        ) from None


def startup_line(bot: ImagineBot, app: ImagineApp) -> str:
    """Who the bot is, where it runs, whether an admin paused the queue (kept across
    restarts), and how to add it to a server."""
    user = bot.user
    assert user is not None and bot.application_id is not None, "only once ready"
    invite = discord.utils.oauth_url(
        bot.application_id,
        permissions=INVITE_PERMISSIONS,
        scopes=("bot", "applications.commands"),
    )
    servers = len(bot.guilds)
    web = f"web {bot.web.base_url}, " if app.settings.web.enabled else ""
    return (
        f"ready as {user} in {servers} server{'s' * (servers != 1)}; "
        f"{app.workers.where()}, "
        f"model {app.settings.default_model}, {web}data {app.settings.paths.data_dir.resolve()}; "
        f"{PAUSED_NOTE if app.service.paused else ''}invite: {invite}"
    )


async def serve(bot: ImagineBot, app: ImagineApp) -> None:
    """Stay connected until SIGTERM or SIGINT (or a fatal gateway error), then return."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for number in STOP_SIGNALS:
        loop.add_signal_handler(number, _stop_on, number, stop)
    connection = asyncio.create_task(bot.connect(reconnect=True), name="discord gateway")
    stopping = asyncio.create_task(stop.wait(), name="stop signal")
    announce = asyncio.create_task(_announce(bot, app), name="start-up line")
    try:
        await asyncio.wait({connection, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if connection.done():
            connection.result()  # a gateway failure: raise it
    finally:
        for number in STOP_SIGNALS:
            loop.remove_signal_handler(number)
        for task in (stopping, announce):
            task.cancel()
        await bot.close()
        connection.cancel()


def _stop_on(number: signal.Signals, stop: asyncio.Event) -> None:
    log.info("%s: stopping; a running job goes back to the queue", number.name)
    stop.set()


async def _announce(bot: ImagineBot, app: ImagineApp) -> None:
    await bot.wait_until_ready()
    log.info("%s", startup_line(bot, app))
