"""The composition root: every object of imagine-bot is built here from the settings, so the
bot, the command line and (later) the workers assemble the same things the same way.

Two sizes: :class:`Planning` (settings, plugins, planner, image store) is all that turning
prompts into specs needs, and stays cheap (no torch, no database: ``imagine-bot parse``);
:class:`ImagineApp` adds the GPU worker thread and the job service the bot runs on. The Discord
client gets an ImagineApp and owns none of it, so a restarted client (or a test's second
client) finds the same queue, database and images.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pluggy

from imagine_bot.config import Settings
from imagine_bot.engine.images.fetch import ImageFetcher
from imagine_bot.engine.images.store import ImageStore
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.plugins.planner import JobPlanner

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from imagine_bot.engine.jobs.service import JobService
    from imagine_bot.plugins.runner import JobRunner


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
    runner: JobRunner
    service: JobService

    @classmethod
    def build(cls, settings: Settings) -> ImagineApp:
        from imagine_bot.engine.jobs.service import JobService

        planning = Planning.build(settings)
        runner = planning.new_runner()
        service = JobService(settings, None, planning.images, runner.submit)
        return cls(settings, planning.manager, planning.planner, planning.images, runner, service)

    async def start(self) -> None:
        await self.service.start()

    def warm_up(self) -> None:
        """Load (and compile) the default model on the GPU worker now, if ``engine.warm_up``,
        so the first user does not wait for it. Not part of ``start``: the bot first checks
        that it can log in, so a wrong token never waits for a warm-up."""
        if self.settings.engine.warm_up:
            warm_up = self.runner.call(self.runner.models.warm_up, self.settings.default_model)
            warm_up.add_done_callback(_report_warm_up)

    async def stop(self) -> None:
        await self.service.stop()
        self.runner.close()


def _report_warm_up(done: Future[float]) -> None:
    if done.exception() is not None:
        log.error("warming up the default model failed", exc_info=done.exception())
    else:
        log.info("the default model is warm (%.1f s)", done.result())
