"""The Discord client: slash commands only, no privileged intents.

It is handed the app and owns the Discord side of it: the desk that starts jobs, the watcher
that keeps their messages up to date and the job buttons (``bot/jobs/``). The features
(``exts/<feature>/``) are extensions loaded by dotted name, never imported: each ``setup``
builds its cog from what the client holds and registers with the desk through its methods.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable

import discord
from discord.ext import commands

from imagine_bot.app import ImagineApp
from imagine_bot.bot.access import PlaceCheckedTree
from imagine_bot.bot.errors import answer_failure
from imagine_bot.bot.jobs.buttons import JobButton
from imagine_bot.bot.jobs.desk import JobDesk
from imagine_bot.bot.jobs.watcher import JobWatcher
from imagine_bot.bot.web import ops
from imagine_bot.bot.web.server import WebServer

log = logging.getLogger(__name__)

EXTENSIONS = (
    "imagine_bot.bot.exts.imagine",
    "imagine_bot.bot.exts.preferences",
    "imagine_bot.bot.exts.admin",
    "imagine_bot.bot.exts.region",
    "imagine_bot.bot.exts.remix",
    "imagine_bot.bot.exts.describe",
    "imagine_bot.bot.exts.blend",
    "imagine_bot.bot.exts.edit",
    "imagine_bot.bot.exts.gallery",
)
SYNCED_COMMANDS_FILE = "synced-commands.sha256"


class ImagineBot(commands.Bot):
    def __init__(self, app: ImagineApp, *, serve: bool = True) -> None:
        """``serve=False`` sets up the commands only, for ``imagine-bot sync``."""
        super().__init__(
            # Slash commands only; the prefix is unreachable without the message-content intent.
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=discord.Intents(guilds=True),
            allowed_mentions=discord.AllowedMentions.none(),
            tree_cls=PlaceCheckedTree,
        )
        self.app = app
        self.watcher = JobWatcher(app, self)
        self.desk = JobDesk(app, self.watcher)
        self.web = WebServer(app)
        """Extensions add their pages in ``setup``; it starts once they are all loaded."""
        self.web.add_routes(ops.routes)
        self.web.gateway_connected = self.gateway_connected
        self.serve = serve
        self._unsubscribe: Callable[[], None] | None = None

    async def setup_hook(self) -> None:
        self.tree.error(answer_failure)
        self.add_dynamic_items(JobButton)
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        if not self.serve:
            return
        await self.sync_commands_if_changed()
        if self.app.settings.web.enabled:
            await self.web.start()
        self._unsubscribe = self.app.service.subscribe(self.watcher.on_event)
        await self.watcher.resume()

    async def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        await self.web.stop()
        await super().close()

    def gateway_connected(self) -> bool:
        """Past READY with the gateway's socket open: False while discord.py reconnects."""
        return self.is_ready() and not self.is_closed() and self.ws is not None and self.ws.open

    def commands_fingerprint(self) -> str:
        payload = [command.to_dict(self.tree) for command in self.tree.get_commands()]
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    async def sync_commands_if_changed(self) -> None:
        """Sync only when the command definitions changed: Discord caps command creates a day."""
        marker = self.app.settings.paths.data_dir / SYNCED_COMMANDS_FILE
        if not marker.is_file() or marker.read_text().strip() != self.commands_fingerprint():
            await self.sync_commands()

    async def sync_commands(self, guild_id: int | None = None) -> int:
        """Publish the slash commands, globally or (instantly, for testing) to one server."""
        guild = discord.Object(guild_id) if guild_id is not None else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        synced = await self.tree.sync(guild=guild)
        log.info("synced %d slash commands%s", len(synced), f" to {guild_id}" if guild else "")
        if guild is None:
            marker = self.app.settings.paths.data_dir / SYNCED_COMMANDS_FILE
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(self.commands_fingerprint())
        return len(synced)
