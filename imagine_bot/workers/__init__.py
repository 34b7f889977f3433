"""GPU workers behind ``engine.jobs.pool.WorkerPool``: local threads (one per device) or Ray
actors (one per GPU). Built from ``[workers]`` by ``build_workers``; may import plugins, engine
and config, never bot."""

from __future__ import annotations

from typing import Protocol

import pluggy

from imagine_bot.config import Settings
from imagine_bot.engine.health import WorkerHealth
from imagine_bot.engine.jobs.pool import WorkerPool


class Workers(WorkerPool, Protocol):
    def start(self) -> None:
        """Bring the workers up (and warm the default model when ``engine.warm_up``); returns
        at once: a pool that cannot reach its workers yet has no capacity until it can."""
        ...

    def where(self) -> str:
        """Where the work runs, for the start-up line: "device cpu (float32)"."""
        ...

    def health(self) -> list[WorkerHealth]:
        """Each worker: alive, and holding the default model? (``/healthz``, ``/metrics``)"""
        ...


def build_workers(settings: Settings, manager: pluggy.PluginManager) -> Workers:
    """The pool ``[workers] backend`` names; nothing starts before ``start()``."""
    if settings.workers.backend == "ray":
        from imagine_bot.workers.ray import RayWorkerPool

        return RayWorkerPool(settings)
    from imagine_bot.workers.local import LocalWorkerPool

    return LocalWorkerPool.on_devices(settings, manager)
