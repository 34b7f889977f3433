"""A bot process for the crash test: it starts the job service on the tiny model, queues a
slow job and two quick ones, reports when the slow one is under way, then waits to be killed.

    python -m tests.engine.jobs.crash_child DATABASE_URL IMAGES_DIR STEPS
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from imagine_bot.config import load_settings
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.engine.images.store import ImageStore
from imagine_bot.engine.jobs.records import JobEvent, ProgressEvent, Requester
from imagine_bot.engine.jobs.service import JobService
from imagine_bot.engine.jobs.storage import Database
from imagine_bot.engine.spec import GenerationSpec
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.plugins.planner import JobPlanner
from imagine_bot.plugins.runner import JobRunner

MEMBER = Requester(42)
SLOW_PROMPT = "a slow lighthouse --seed 11"
QUICK_PROMPTS = ("a fox --seed 21", "a cat --seed 31")


def slow_variant(spec: GenerationSpec, steps: int) -> GenerationSpec:
    """Many steps at a small size: long enough to be killed in the middle, cheap to rerun."""
    return spec.model_copy(update={"steps": steps, "width": 64, "height": 64})


async def main(url: str, images: Path, steps: int) -> None:
    settings = load_settings()
    manager = build_plugin_manager(settings)
    planner = JobPlanner(settings, manager)
    runner = JobRunner(manager, ModelRegistry(settings))
    service = JobService(settings, Database(url), ImageStore(images), runner.submit)
    slow_id: list[str] = []

    def on_event(event: JobEvent) -> None:
        if isinstance(event, ProgressEvent) and event.job.id in slow_id and event.done == 2:
            print("PROGRESS", flush=True)

    service.subscribe(on_event)
    await service.start()
    (slow,) = await planner.plan(SLOW_PROMPT)
    (slow_job,) = await service.submit(MEMBER, [slow_variant(slow, steps)])
    slow_id.append(slow_job.id)
    quick = [spec for prompt in QUICK_PROMPTS for spec in await planner.plan(prompt)]
    quick_jobs = await service.submit(MEMBER, quick, interaction_id=7)
    print("SUBMITTED", json.dumps([slow_job.id, *(job.id for job in quick_jobs)]), flush=True)
    await asyncio.Event().wait()  # until SIGKILL


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])))
