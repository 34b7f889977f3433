"""The composition root: every object of imagine-bot is built here from the settings, so the
bot, the command line and the workers assemble the same things the same way.

Two sizes: :class:`Planning` (settings, plugins, planner, image store) is all that turning
prompts into specs needs, and stays cheap (no torch, no database: ``imagine-bot parse``);
:class:`ImagineApp` adds the GPU workers (``[workers]``) and the job service the bot runs on.
The Discord client gets an ImagineApp and owns none of it, so a restarted client (or a test's
second client) finds the same queue, database and images.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import pluggy

from imagine_bot.config import Settings
from imagine_bot.engine.health import WorkerHealth
from imagine_bot.engine.images.fetch import ImageFetcher
from imagine_bot.engine.images.store import ImageStore
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.plugins.planner import JobPlanner

if TYPE_CHECKING:
    from imagine_bot.engine.jobs.service import JobService
    from imagine_bot.metrics import BotMetrics
    from imagine_bot.plugins.runner import JobRunner
    from imagine_bot.workers import Workers


@dataclass
class Planning:
    settings: Settings
    manager: pluggy.PluginManager
    planner: JobPlanner
    images: ImageStore

    @classmethod
    def build(cls, settings: Settings) -> Planning:
        manager = build_plugin_manager(settings)
        images = ImageStore(settings.paths.store)
        fetcher = ImageFetcher(settings.fetch, images)
        return cls(settings, manager, JobPlanner(settings, manager, fetcher=fetcher), images)

    def new_runner(self) -> JobRunner:
        """A GPU worker thread over these plugins; close it when done."""
        # torch and diffusers load here, not at import: `imagine-bot parse` stays fast.
        from imagine_bot.engine.gpu.models import ModelRegistry
        from imagine_bot.plugins.runner import JobRunner

        return JobRunner(self.manager, ModelRegistry(self.settings))


@dataclass
class ImagineApp(Planning):
    workers: Workers
    service: JobService
    metrics: BotMetrics

    @classmethod
    def build(cls, settings: Settings) -> ImagineApp:
        # Only the full app serves metrics: planning (`imagine-bot parse`) never loads them.
        from imagine_bot.engine.jobs.service import JobService
        from imagine_bot.metrics import BotMetrics
        from imagine_bot.workers import build_workers

        planning = Planning.build(settings)
        workers = build_workers(settings, planning.manager)
        service = JobService(settings, None, planning.images, workers)
        return cls(
            settings,
            planning.manager,
            planning.planner,
            planning.images,
            workers,
            service,
            BotMetrics(),
        )

    async def start(self) -> None:
        self.service.subscribe(self.metrics.on_event)
        await self.service.start()

    def start_workers(self) -> None:
        """Bring the workers up: local ones load (and compile) the default model when
        ``engine.warm_up``, Ray actors are created and connect; neither blocks. Not part of
        ``start``: the bot first checks that it can log in, so a wrong token never waits for a
        warm-up."""
        self.workers.start()

    async def stop(self) -> None:
        await self.service.stop()
        self.workers.close()

    def worker_health(self) -> list[WorkerHealth]:
        """Every GPU worker: alive, and holding the default model if it warms up? (``/healthz``)"""
        warm_up = self.settings.engine.warm_up
        return [replace(worker, warm_up=warm_up) for worker in self.workers.health()]
