"""What the job service needs from the GPU side: a pool of workers (local threads or Ray
actors, see ``imagine_bot.workers``) that runs jobs and sends back encoded images.

A job travels with its input images by content (``Work.inputs``), so a worker needs no shared
disk, and comes back as PNG bytes, encoded on the worker, which the bot stores in its own image
store. Progress, previews and cancellation go through the job's ``JobControl``, on the bot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from imagine_bot.engine.control import JobControl
from imagine_bot.engine.images.files import result_pngs
from imagine_bot.engine.images.store import ImageStore
from imagine_bot.engine.result import GenerationResult
from imagine_bot.engine.spec import GenerationSpec

Runner = Callable[[GenerationSpec, JobControl], Future[GenerationResult]]
"""Runs one spec on a GPU worker thread: ``JobRunner.submit`` (or a test's fake)."""


class WorkerLost(Exception):
    """The worker running the job died or went away: the job goes back to the queue."""


@dataclass(frozen=True)
class EncodedImage:
    png: bytes
    """PNG bytes, with the image's generation parameters in its text chunk."""
    width: int
    height: int


@dataclass(frozen=True)
class Work:
    """One job for a worker."""

    job_id: str
    spec: GenerationSpec
    control: JobControl
    inputs: Mapping[str, bytes] = field(default_factory=dict)
    """The stored bytes of every image the spec names (source, references), by sha256."""


@dataclass(frozen=True)
class WorkOutput:
    """One job's result as it comes back from a worker."""

    images: tuple[EncodedImage, ...]
    grid: EncodedImage | None
    gpu_seconds: float
    """This job's share of the pipeline call's time (split by images when batched)."""
    worker: str
    """Which worker made it, for the logs."""
    warnings: tuple[str, ...] = ()
    """What the member should know about how it was made (e.g. an upscaler fallback)."""
    flagged: tuple[int, ...] = ()
    """The images (1-based) the safety classifier flagged."""
    texts: tuple[str, ...] = ()
    """What a /describe job wrote."""


@runtime_checkable
class WorkerPool(Protocol):
    """Runs jobs on workers. ``run`` is called from the event loop and must not block."""

    @property
    def capacity(self) -> int:
        """How many batches (``run`` calls) may run at once now: the live workers' slots. 0
        while no worker is up (e.g. the Ray cluster is unreachable); jobs wait then."""
        ...

    @property
    def max_batch(self) -> int:
        """The most images one ``run`` call may carry."""
        ...

    def run(self, batch: Sequence[Work]) -> list[Future[WorkOutput]]:
        """Run ``batch`` on one free worker, as one pipeline call when it has several jobs
        (their specs share ``GenerationSpec.batch_key``); one future per job, in order.

        A future fails with ``JobCancelled`` after its job's control was cancelled, with
        ``WorkerLost`` when the worker died, or with the job's own error."""
        ...

    def close(self) -> None:
        """Stop the workers; jobs still running fail with ``WorkerLost``."""
        ...


def input_shas(spec: GenerationSpec) -> list[str]:
    """The sha256 of every stored image ``spec`` reads (references, source, mask), which must
    travel with it."""
    shas = [ref.sha256 for ref in spec.references if ref.sha256 is not None]
    shas += [image.sha256 for image in (spec.source, spec.mask) if image is not None]
    return list(dict.fromkeys(shas))


def share(seconds: float, batch: Sequence[GenerationSpec]) -> list[float]:
    """``seconds`` of one pipeline call split between its jobs by their number of images."""
    total = sum(len(spec.seeds) for spec in batch)
    return [seconds * len(spec.seeds) / total for spec in batch]


def encode(result: GenerationResult, gpu_seconds: float, worker: str) -> WorkOutput:
    """``result`` as PNG bytes (signed: see ``result_pngs``); on a CPU thread of the worker,
    never the one driving the GPU."""
    pngs = result_pngs(result)
    images = tuple(
        EncodedImage(png, image.width, image.height)
        for png, image in zip(pngs.images, result.images, strict=True)
    )
    grid = result.grid
    encoded_grid = (
        None if grid is None or pngs.grid is None else EncodedImage(pngs.grid, *grid.size)
    )
    return WorkOutput(
        images,
        encoded_grid,
        gpu_seconds,
        worker,
        tuple(result.warnings),
        tuple(result.flagged),
        tuple(result.texts),
    )


def place_inputs(store: ImageStore, inputs: Mapping[str, bytes]) -> None:
    """Put a job's input images into the worker's own image store, where its models read them."""
    for sha, data in inputs.items():
        if store.put_png(data, 0, 0).sha256 != sha:  # the size is not needed for an input
            raise ValueError(f"input image {sha} arrived with other bytes")


class RunnerPool:
    """One worker made of a ``Runner`` (a single thread; no batching): how tools and tests
    that hand ``JobService`` a ``JobRunner.submit`` get a pool."""

    def __init__(self, run: Runner, name: str = "local") -> None:
        self._run = run
        self._name = name
        self._encoder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imagine-encode")

    @property
    def capacity(self) -> int:
        return 1

    @property
    def max_batch(self) -> int:
        return 1

    def run(self, batch: Sequence[Work]) -> list[Future[WorkOutput]]:
        (work,) = batch
        output: Future[WorkOutput] = Future()

        def encoded(done: Future[GenerationResult]) -> None:
            if done.exception() is not None:
                output.set_exception(done.exception())
                return
            result = done.result()
            self._encoder.submit(
                _settle, output, lambda: encode(result, result.gpu_seconds, self._name)
            )

        self._run(work.spec, work.control).add_done_callback(encoded)
        return [output]

    def close(self) -> None:
        self._encoder.shutdown(wait=True)


def _settle(future: Future[WorkOutput], make: Callable[[], WorkOutput]) -> None:
    try:
        future.set_result(make())
    except Exception as exc:
        future.set_exception(exc)
