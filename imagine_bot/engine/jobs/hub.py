"""What the job service and its dispatcher share, as objects: the job events (listeners on the
event loop, and the tasks the async ones start) and the threads the database runs on."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from imagine_bot.engine.jobs.records import JobEvent

log = logging.getLogger(__name__)

Listener = Callable[[JobEvent], object]
"""Called on the event loop with each event; may be ``async def`` (it then runs as a task)."""

P = ParamSpec("P")
T = TypeVar("T")


class DatabaseThreads:
    """A few threads for the database's blocking calls, so the event loop never waits on I/O."""

    def __init__(self, threads: int = 4) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="imagine-db")

    async def run(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(function, *args, **kwargs))

    def close(self) -> None:
        self._pool.shutdown(wait=False)


class JobEvents:
    """Job events to their listeners, always on the event loop ``bind`` was called on."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._tasks: set[asyncio.Future[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every event; returns an unsubscribe function. A listener that
        raises is logged and keeps its subscription."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def publish(self, event: JobEvent) -> None:
        """Hand ``event`` to the listeners on the loop; from any thread, returning at once."""
        if self._loop is None:
            raise RuntimeError("JobService.start() has not been awaited")
        self._loop.call_soon_threadsafe(self._emit, event)

    def track(self, task: asyncio.Future[Any]) -> None:
        """Keep a reference to ``task`` until it ends (``drain`` waits for it), logging failure."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)

    async def drain(self, timeout: float) -> None:
        """Wait for the tasks still running (async listeners, jobs ending)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    def _emit(self, event: JobEvent) -> None:
        for listener in tuple(self._listeners):
            try:
                outcome = listener(event)
            except Exception:
                log.exception("a job event listener failed on %s", type(event).__name__)
                continue
            if inspect.isawaitable(outcome):
                self.track(asyncio.ensure_future(outcome))


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("a job service task failed", exc_info=task.exception())
