"""The composition root: everything the bot needs, built from settings, started and stopped
together. The Discord client gets one of these and owns none of it, so a restarted client
(or a test's second client) finds the same queue, database and images."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pluggy

from imagine_bot.config import Settings
from imagine_bot.engine.images.store import ImageStore
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.plugins.planner import JobPlanner

if TYPE_CHECKING:
    from imagine_bot.engine.jobs.service import JobService
    from imagine_bot.workers import Workers


@dataclass
class ImagineApp:
    settings: Settings
    manager: pluggy.PluginManager
    planner: JobPlanner
    images: ImageStore
    workers: Workers
    service: JobService

    @classmethod
    def build(cls, settings: Settings) -> ImagineApp:
        # torch and diffusers load here, not at import: `imagine-bot parse` stays fast.
        from imagine_bot.engine.jobs.service import JobService
        from imagine_bot.workers import build_workers

        manager = build_plugin_manager(settings)
        images = ImageStore(settings.paths.store)
        workers = build_workers(settings, manager)
        service = JobService(settings, None, images, workers)
        return cls(settings, manager, JobPlanner(settings, manager), images, workers, service)

    async def start(self) -> None:
        await self.service.start()
        # Local workers load (and compile) the default model now, Ray actors connect: neither
        # blocks, and the first user does not wait for the model.
        self.workers.start()

    async def stop(self) -> None:
        await self.service.stop()
        self.workers.close()
