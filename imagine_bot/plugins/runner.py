"""The GPU half of a job's stages: generate and post-process, on the one worker thread.

See docs/design.md, "Data flow of one job"; ``JobPlanner`` runs the event-loop half.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import pluggy

from imagine_bot.engine.control import JobCancelled, JobControl
from imagine_bot.engine.gpu.describe import Describer
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.engine.health import WorkerHealth
from imagine_bot.engine.jobs.pool import share
from imagine_bot.engine.result import GenerationResult
from imagine_bot.engine.spec import GenerationSpec

T = TypeVar("T")

Outcome = GenerationResult | BaseException
"""One job's end in a batch: its result, or why it has none (``JobCancelled``, an error)."""


class JobRunner:
    """Owns the GPU worker thread: the only thread that touches a pipeline."""

    def __init__(self, manager: pluggy.PluginManager, models: ModelRegistry) -> None:
        self.manager = manager
        self.models = models
        self._worker = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="imagine-gpu", initializer=self._claim_thread
        )
        self._thread: threading.Thread | None = None
        self._closed = False
        self._describer: Describer | None = None
        """/describe's models, loaded by the first /describe job this worker runs."""

    def submit(self, spec: GenerationSpec, control: JobControl) -> Future[GenerationResult]:
        """Queue ``spec`` on the GPU worker; the future resolves to the post-processed result."""
        return self._worker.submit(self._generate, spec, control)

    def submit_batch(
        self, specs: Sequence[GenerationSpec], controls: Sequence[JobControl]
    ) -> Future[list[Outcome]]:
        """Queue several jobs as one pipeline call (their specs share a ``batch_key``; one spec
        runs as ``submit``); one outcome per job, GPU time split by images."""
        return self._worker.submit(self._generate_batch, specs, controls)

    def call(self, function: Callable[..., T], *args: Any) -> Future[T]:
        """Run ``function(*args)`` on the GPU worker, after the jobs already queued: for work
        that must touch pipelines outside a job, e.g. ``call(runner.models.warm_up, name)``."""
        return self._worker.submit(function, *args)

    def close(self) -> None:
        self._closed = True
        self._worker.shutdown(wait=True, cancel_futures=True)

    def health(self) -> list[WorkerHealth]:
        """The one local worker: running (its thread starts with the first job or the warm-up)
        and holding the default model."""
        default = self.models.settings.default_model
        alive = not self._closed and (self._thread is None or self._thread.is_alive())
        name = f"local {self.models.device}"
        return [WorkerHealth(name, alive, default, self.models.loaded(default))]

    def _claim_thread(self) -> None:
        self._thread = threading.current_thread()
        self.models.claim_thread()

    def _generate(self, spec: GenerationSpec, control: JobControl) -> GenerationResult:
        started = time.perf_counter()
        if spec.kind == "describe":
            return self._describe(spec, started)
        images = self.manager.hook.imagine_generate(spec=spec, models=self.models, control=control)
        if images is None:
            raise RuntimeError("no plugin implements imagine_generate")
        result = self._postprocess(spec, control, images)
        result.gpu_seconds = time.perf_counter() - started
        return result

    def _generate_batch(
        self, specs: Sequence[GenerationSpec], controls: Sequence[JobControl]
    ) -> list[Outcome]:
        if len(specs) == 1 or not self._generate_stage_batches():
            return [
                _outcome(self._generate, spec, control)
                for spec, control in zip(specs, controls, strict=True)
            ]
        started = time.perf_counter()
        batch = self.manager.hook.imagine_generate_batch(
            specs=specs, models=self.models, controls=controls
        )
        outcomes: list[Outcome] = []
        for spec, control, images, seconds in zip(
            specs, controls, batch, share(time.perf_counter() - started, specs), strict=True
        ):
            if control.cancelled:
                outcomes.append(JobCancelled())
                continue
            outcome = _outcome(self._postprocess, spec, control, images)
            if isinstance(outcome, GenerationResult):
                outcome.gpu_seconds = seconds
            outcomes.append(outcome)
        return outcomes

    def _describe(self, spec: GenerationSpec, started: float) -> GenerationResult:
        if spec.source is None:
            raise ValueError("a /describe job names no stored image")
        if self._describer is None:
            models = self.models
            self._describer = Describer(models.settings.describe, models.device, models.dtype)
        prompts = self._describer.describe(self.models.store.open(spec.source.sha256))
        result = GenerationResult(spec, [], prompts)
        result.gpu_seconds = time.perf_counter() - started
        return result

    def _postprocess(
        self, spec: GenerationSpec, control: JobControl, images: list[Any]
    ) -> GenerationResult:
        result = GenerationResult(spec, images)
        result.warnings.extend(control.warnings)
        result.notes.update(control.notes)
        self.manager.hook.imagine_postprocess(result=result, models=self.models)
        return result

    def _generate_stage_batches(self) -> bool:
        """Whether the plugin whose ``imagine_generate`` runs first (pluggy calls the last
        registered first) also implements ``imagine_generate_batch``."""
        hook = self.manager.hook
        generates = hook.imagine_generate.get_hookimpls()
        batches = {impl.plugin_name for impl in hook.imagine_generate_batch.get_hookimpls()}
        return bool(generates) and generates[-1].plugin_name in batches


def _outcome(function: Callable[..., GenerationResult], *args: Any) -> Outcome:
    try:
        return function(*args)
    except Exception as exc:
        return exc
