"""The composition root: everything the bot needs, built from settings, started and stopped
together. The Discord client gets one of these and owns none of it, so a restarted client
(or a test's second client) finds the same queue, database and images."""

from __future__ import annotations

import logging
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pluggy

from imagine_bot.bot.web.metrics import BotMetrics
from imagine_bot.config import Settings
from imagine_bot.engine.health import WorkerHealth
from imagine_bot.engine.images.store import ImageStore
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.plugins.planner import JobPlanner

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from imagine_bot.engine.jobs.service import JobService
    from imagine_bot.plugins.runner import JobRunner


@dataclass
class ImagineApp:
    settings: Settings
    manager: pluggy.PluginManager
    planner: JobPlanner
    images: ImageStore
    runner: JobRunner
    service: JobService
    metrics: BotMetrics

    @classmethod
    def build(cls, settings: Settings) -> ImagineApp:
        # torch and diffusers load here, not at import: `imagine-bot parse` stays fast.
        from imagine_bot.engine.gpu.models import ModelRegistry
        from imagine_bot.engine.jobs.service import JobService
        from imagine_bot.plugins.runner import JobRunner

        manager = build_plugin_manager(settings)
        images = ImageStore(settings.paths.store)
        runner = JobRunner(manager, ModelRegistry(settings))
        service = JobService(settings, None, images, runner.submit)
        planner = JobPlanner(settings, manager)
        return cls(settings, manager, planner, images, runner, service, BotMetrics())

    async def start(self) -> None:
        self.service.subscribe(self.metrics.on_event)
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

    def worker_health(self) -> list[WorkerHealth]:
        """Every GPU worker: alive, and holding the default model? (``/healthz``)"""
        return self.runner.health()


def _report_warm_up(done: Future[float]) -> None:
    if done.exception() is not None:
        log.error("warming up the default model failed", exc_info=done.exception())
    else:
        log.info("the default model is warm (%.1f s)", done.result())
