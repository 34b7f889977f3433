"""Local workers: one GPU worker thread per device in ``[workers] devices``, each with its own
``ModelRegistry`` (its own copy of the models) and ``JobRunner``."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import pluggy

from imagine_bot.config import Settings
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.engine.health import WorkerHealth
from imagine_bot.engine.jobs.pool import Work, WorkerLost, WorkOutput, encode, place_inputs
from imagine_bot.plugins.runner import JobRunner, Outcome

log = logging.getLogger(__name__)


def on_device(settings: Settings, device: str) -> Settings:
    """``settings`` with the engine on ``device``."""
    engine = settings.engine.model_copy(update={"device": device})
    return settings.model_copy(update={"engine": engine})


class LocalWorkerPool:
    """A ``WorkerPool`` of ``JobRunner``s in this process, one batch at a time each."""

    def __init__(self, settings: Settings, runners: Sequence[JobRunner]) -> None:
        self.settings = settings
        self.runners = list(runners)
        self.names = [f"local-{n}:{r.models.device}" for n, r in enumerate(self.runners)]
        self._busy = [False] * len(self.runners)
        self._lock = threading.Lock()
        # PNG encoding happens here, never on the thread that drives the device.
        self._encoder = ThreadPoolExecutor(
            max_workers=len(self.runners), thread_name_prefix="imagine-encode"
        )
        self._closed = False

    @classmethod
    def on_devices(cls, settings: Settings, manager: pluggy.PluginManager) -> LocalWorkerPool:
        """One runner per entry of ``[workers] devices``."""
        return cls(
            settings,
            [
                JobRunner(manager, ModelRegistry(on_device(settings, device)))
                for device in settings.workers.devices
            ],
        )

    @property
    def capacity(self) -> int:
        return 0 if self._closed else len(self.runners)

    @property
    def max_batch(self) -> int:
        return self.settings.workers.max_batch

    def start(self) -> None:
        if self.settings.engine.warm_up:
            for name, runner in zip(self.names, self.runners, strict=True):
                warm_up = runner.call(runner.models.warm_up, self.settings.default_model)
                warm_up.add_done_callback(functools.partial(_report_warm_up, name))

    def where(self) -> str:
        devices = ", ".join(str(runner.models.device) for runner in self.runners)
        dtype = str(self.runners[0].models.dtype).removeprefix("torch.")
        return f"device{'s' * (len(self.runners) > 1)} {devices} ({dtype})"

    def health(self) -> list[WorkerHealth]:
        return [health for runner in self.runners for health in runner.health()]

    def run(self, batch: Sequence[Work]) -> list[Future[WorkOutput]]:
        index = self._claim()
        runner, name = self.runners[index], self.names[index]
        outputs: list[Future[WorkOutput]] = [Future() for _ in batch]
        for work in batch:
            if work.inputs:
                runner.call(place_inputs, runner.models.store, work.inputs)
        done = runner.submit_batch([w.spec for w in batch], [w.control for w in batch])

        def finished(done: Future[list[Outcome]]) -> None:
            with self._lock:
                self._busy[index] = False
            self._encoder.submit(_settle, done, outputs, name)

        done.add_done_callback(finished)
        return outputs

    def close(self) -> None:
        self._closed = True
        for runner in self.runners:
            runner.close()
        self._encoder.shutdown(wait=True)

    def _claim(self) -> int:
        with self._lock:
            for index, busy in enumerate(self._busy):
                if not busy:
                    self._busy[index] = True
                    return index
        raise RuntimeError("every local worker is busy; the dispatcher respects capacity")


def _settle(done: Future[list[Outcome]], outputs: Sequence[Future[WorkOutput]], name: str) -> None:
    if done.cancelled():  # the pool closed before the batch ran
        outcomes: list[Outcome] = [WorkerLost(f"{name} was shut down")] * len(outputs)
    elif (error := done.exception()) is not None:
        outcomes = [error] * len(outputs)
    else:
        outcomes = done.result()
    for output, outcome in zip(outputs, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            output.set_exception(outcome)
            continue
        try:
            output.set_result(encode(outcome, outcome.gpu_seconds, name))
        except Exception as exc:
            output.set_exception(exc)


def _report_warm_up(name: str, done: Future[float]) -> None:
    if done.cancelled():
        return
    if done.exception() is not None:
        log.error("warming up the default model on %s failed", name, exc_info=done.exception())
    else:
        log.info("the default model is warm on %s (%.1f s)", name, done.result())
