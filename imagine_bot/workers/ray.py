"""Ray workers: one actor per GPU on an existing Ray cluster, each with its own plugin manager,
models and ``JobRunner``, built on its node from the bot's settings.

A batch runs as one streaming call (``num_returns="streaming"``): the actor yields progress
and previews as they happen, then each job's PNG-encoded images. Cancel is a second call into
the same (threaded) actor, which sets the job's control there; the bot sends it when it sees
the next step. When an actor dies mid-job its jobs come back as ``WorkerLost`` (the dispatcher
re-queues them), Ray restarts the actor (``max_restarts``) and the pool takes it back once it
answers again. A lost cluster (the head restarted, every actor with it) is joined again with
back-off and new actors; queued jobs wait meanwhile. Ray is imported only when the pool starts.
"""

from __future__ import annotations

import functools
import io
import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from PIL import Image

from imagine_bot.config import Settings
from imagine_bot.engine.control import JobControl
from imagine_bot.engine.health import WorkerHealth
from imagine_bot.engine.jobs.pool import Work, WorkerLost, WorkOutput, encode, place_inputs

log = logging.getLogger(__name__)

MAX_BACKOFF = 8  # reconnects back off from ``reconnect_every`` to 8 times it
PROBE_SECONDS = 30.0  # for a running actor to answer "ready?" (a threaded call, even mid-job)

Job = tuple[str, Any, dict[str, bytes], int]
"""What travels to the actor per job: (job id, spec, input images by sha256, preview_every)."""


class GpuWorker:
    """The actor's class (wrapped with ``ray.remote`` by the pool). Never raises from
    ``__init__``: a worker that cannot set itself up fails each job it gets with the reason."""

    def __init__(self, settings: Settings, name: str) -> None:
        self.name = name
        self.controls: dict[str, JobControl] = {}
        self.encoder = ThreadPoolExecutor(max_workers=2, thread_name_prefix="imagine-encode")
        self.error: str | None = None
        try:
            from imagine_bot.engine.gpu.models import ModelRegistry
            from imagine_bot.plugins.manager import build_plugin_manager
            from imagine_bot.plugins.runner import JobRunner

            self.runner = JobRunner(build_plugin_manager(settings), ModelRegistry(settings))
        except Exception as exc:
            log.exception("this GPU worker could not start")
            # The reason is in this actor's log; the member gets a sentence without it.
            self.error = (
                f"A GPU worker could not start ({type(exc).__name__}), so no images were made; "
                "the admin can find why in the worker's log."
            )

    def ready(self) -> bool:
        return self.error is None

    def warm_up(self, model: str) -> float:
        return self.runner.call(self.runner.models.warm_up, model).result()

    def cancel(self, job_id: str) -> None:
        control = self.controls.get(job_id)
        if control is not None:
            control.cancel()

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[Any, ...]]:
        """Yields ("progress", index, done, total, preview PNG or None) while the batch runs,
        then ("result", index, WorkOutput) or ("failed", index, exception) per job."""
        if self.error is not None:
            from imagine_bot.engine.errors import UserError

            for index in range(len(jobs)):
                yield ("failed", index, UserError(self.error))
            return
        events: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()

        def progress(index: int, done: int, total: int) -> None:
            events.put(("progress", index, done, total, None))

        def preview(index: int, done: int, total: int, image: Image.Image) -> None:
            events.put(("preview", index, done, total, image))

        controls = []
        for index, (job_id, _, inputs, preview_every) in enumerate(jobs):
            control = JobControl(
                functools.partial(progress, index),
                on_preview=functools.partial(preview, index),
                preview_every=preview_every,
            )
            self.controls[job_id] = control
            controls.append(control)
            if inputs:
                self.runner.call(place_inputs, self.runner.models.store, inputs)
        started = self.runner.submit_batch([job[1] for job in jobs], controls)
        started.add_done_callback(lambda _: events.put(("done",)))
        try:
            while (event := events.get())[0] != "done":
                if event[0] == "preview":  # encoded here, off the thread that drives the GPU
                    yield ("progress", *event[1:4], _png(event[4]))
                else:
                    yield event
        finally:
            for job_id, *_ in jobs:
                self.controls.pop(job_id, None)
        error = started.exception()
        outcomes = [error] * len(jobs) if error is not None else started.result()
        for index, outcome in enumerate(outcomes):
            if isinstance(outcome, BaseException):
                yield ("failed", index, outcome)
            else:
                output = self.encoder.submit(
                    encode, outcome, outcome.gpu_seconds, self.name
                ).result()
                yield ("result", index, output)


@dataclass
class _Slot:
    name: str
    actor: Any
    alive: bool = False
    busy: bool = False
    loaded: bool = False
    """Its warm-up of the default model finished."""


class RayWorkerPool:
    """A ``WorkerPool`` of ``GpuWorker`` actors. ``connect`` joins the cluster (default:
    ``ray.init(address=...)`` unless this process already joined one)."""

    def __init__(self, settings: Settings, connect: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self.workers = settings.workers
        self._connect = connect or self._join
        self._slots: list[_Slot] = []
        self._running: dict[str, str] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self.connected = False  # joined, actors started (``/healthz`` says so when not)

    @property
    def capacity(self) -> int:
        with self._lock:
            return sum(slot.alive for slot in self._slots)

    @property
    def max_batch(self) -> int:
        return self.workers.max_batch

    def where(self) -> str:
        return f"Ray cluster {self.workers.address}"

    def health(self) -> list[WorkerHealth]:
        default = self.settings.default_model
        if not self.connected:
            cluster = f"on the Ray cluster {self.workers.address} (unreachable; reconnecting)"
            return [WorkerHealth(cluster, False, default, False)]
        with self._lock:
            return [WorkerHealth(s.name, s.alive, default, s.loaded) for s in self._slots]

    def worker_of(self, job_id: str) -> str | None:
        """The worker running ``job_id`` now."""
        with self._lock:
            return self._running.get(job_id)

    def actor(self, name: str) -> Any:
        """The actor handle of worker ``name`` (e.g. for ``ray.kill``)."""
        return next(slot.actor for slot in self._slots if slot.name == name)

    def start(self) -> None:
        threading.Thread(target=self._bring_up, name="imagine-ray-connect", daemon=True).start()

    def run(self, batch: Sequence[Work]) -> list[Future[WorkOutput]]:
        slot = self._claim(batch)
        jobs = [(w.job_id, w.spec, dict(w.inputs), w.control.preview_every) for w in batch]
        stream = slot.actor.run.options(num_returns="streaming").remote(jobs)
        outputs: list[Future[WorkOutput]] = [Future() for _ in batch]
        threading.Thread(
            target=self._follow,
            args=(slot, batch, stream, outputs),
            name=f"imagine-{slot.name}",
            daemon=True,
        ).start()
        return outputs

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            slots, self._slots = self._slots, []
        if slots:
            import ray

            for slot in slots:
                ray.kill(slot.actor, no_restart=True)

    # --- start-up ----------------------------------------------------------------------------

    def _join(self) -> None:
        import ray

        if not ray.is_initialized():
            ray.init(address=self.workers.address, logging_level=logging.WARNING)

    def _bring_up(self) -> None:
        """Join, start the actors and watch the cluster; join again whenever it is lost."""
        delay = self.workers.reconnect_every
        while not self._closed.is_set():
            try:
                self._connect()
                self._start_actors()
                self.connected = True
            except Exception as exc:
                log.warning("the Ray cluster at %s is unreachable (%r); retrying in %.0f s, "
                            "jobs wait in the queue", self.workers.address, exc, delay)  # fmt: skip
                self._closed.wait(delay)
                delay = min(delay * 2, self.workers.reconnect_every * MAX_BACKOFF)
                continue
            delay = self.workers.reconnect_every
            self._watch_cluster()

    def _watch_cluster(self) -> None:
        """Until close, or until no running actor answers (the head restarted; starting ones
        are not asked): then forget the actors and the session, so the next join starts afresh."""
        import ray

        while not self._closed.wait(self.workers.reconnect_every):
            with self._lock:
                running = [slot for slot in self._slots if slot.alive]
            if running and not any(_answers(slot.actor) for slot in running):
                log.warning("lost the Ray cluster at %s: no worker answers", self.workers.address)
                self.connected = False
                with self._lock:
                    self._slots = []
                ray.shutdown()
                return

    def _start_actors(self) -> None:
        count = self._count()
        if not count:
            log.error(
                "the Ray cluster has no GPUs for the bot's workers; set [workers] count (and "
                "gpus_per_worker = 0 for CPU workers)"
            )
            return
        remote = _remote_class()
        slots = [
            _Slot(
                f"worker-{n}",
                remote.options(
                    num_gpus=self.workers.gpus_per_worker,
                    num_cpus=self.workers.cpus_per_worker,
                    max_restarts=self.workers.max_restarts,
                    max_task_retries=0,  # a lost job goes back to our queue, not Ray's
                    max_concurrency=4,  # cancel and ready calls reach a busy actor
                ).remote(self.settings, f"worker-{n}"),
            )
            for n in range(count)
        ]
        with self._lock:
            self._slots = slots
        log.info("starting %d GPU workers on the Ray cluster", count)
        for slot in slots:
            self._watch_return(slot, restarted=False)

    def _count(self) -> int:
        import ray

        if self.workers.count:
            return self.workers.count
        gpus = float(ray.cluster_resources().get("GPU", 0))  # type: ignore[no-untyped-call]
        return int(gpus // self.workers.gpus_per_worker) if self.workers.gpus_per_worker else 0

    def _watch_return(self, slot: _Slot, *, restarted: bool) -> None:
        """Take ``slot`` into service once its actor answers (after it starts or restarts)."""

        def wait() -> None:
            import ray

            while True:
                try:
                    ok = ray.get(slot.actor.ready.remote())
                    break
                except ray.exceptions.ActorUnavailableError:
                    if self._closed.wait(1.0):  # still restarting: ask again
                        return
                except Exception as exc:
                    if not self._closed.is_set():
                        log.error("GPU worker %s is gone for good: %s", slot.name, exc)
                    return
            if not ok:
                log.error("GPU worker %s could not start; its jobs fail with the reason", slot.name)
            with self._lock:
                slot.alive = True
            if restarted:
                log.warning("GPU worker %s is back after Ray restarted it", slot.name)
            elif self.settings.engine.warm_up and ok:
                try:
                    ray.get(slot.actor.warm_up.remote(self.settings.default_model))
                    slot.loaded = True
                except Exception as exc:
                    log.error("GPU worker %s could not load the default model: %s", slot.name, exc)

        threading.Thread(target=wait, name=f"imagine-{slot.name}-ready", daemon=True).start()

    # --- running -----------------------------------------------------------------------------

    def _claim(self, batch: Sequence[Work]) -> _Slot:
        with self._lock:
            for slot in self._slots:
                if slot.alive and not slot.busy:
                    slot.busy = True
                    self._running.update((work.job_id, slot.name) for work in batch)
                    return slot
        raise WorkerLost("no GPU worker is free")

    def _follow(
        self,
        slot: _Slot,
        batch: Sequence[Work],
        stream: Any,
        outputs: list[Future[WorkOutput]],
    ) -> None:
        """Relay the actor's stream to the jobs' controls and futures (on its own thread). The
        futures are settled only once the slot is free again, so the dispatcher's next batch
        always finds it free."""
        import ray

        outcomes: dict[int, WorkOutput | BaseException] = {}
        cancelled: set[int] = set()
        try:
            for ref in stream:
                kind, index, *rest = ray.get(ref)
                if kind == "progress":
                    done, total, preview = rest
                    if preview is None:
                        batch[index].control.report(done, total)
                    else:
                        batch[index].control.preview(done, total, _image(preview))
                else:  # "result" or "failed"
                    outcomes[index] = rest[0]
                for n, work in enumerate(batch):
                    if n not in cancelled and work.control.cancelled:
                        cancelled.add(n)
                        slot.actor.cancel.remote(work.job_id)
        except ray.exceptions.RayActorError as exc:
            log.warning("GPU worker %s died mid-job (%s); Ray restarts it", slot.name, exc)
            with self._lock:
                slot.alive = False
            self._watch_return(slot, restarted=True)
        except Exception as exc:
            outcomes = {n: outcomes.get(n, exc) for n in range(len(batch))}
        with self._lock:
            slot.busy = False
            for work in batch:
                self._running.pop(work.job_id, None)
        for n, output in enumerate(outputs):
            outcome = outcomes.get(n, WorkerLost(f"{slot.name} died"))
            if isinstance(outcome, BaseException):
                output.set_exception(outcome)
            else:
                output.set_result(outcome)


def _answers(actor: Any) -> bool:
    import ray

    try:
        ray.get(actor.ready.remote(), timeout=PROBE_SECONDS)
    except ray.exceptions.ActorUnavailableError:
        pass  # Ray is restarting it: the cluster is there
    except Exception:
        return False
    return True


def _remote_class() -> Any:
    import ray

    return ray.remote(GpuWorker)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _image(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")
