"""Progress, previews and cancellation between a running job and whoever waits for it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

ProgressCallback = Callable[[int, int], None]
"""Called on the worker thread with (steps done, total steps); must return quickly."""

PreviewCallback = Callable[[int, int, "Image.Image"], None]
"""Called on the worker thread with (steps done, total steps, preview image); must return
quickly. The preview is a small, rough picture of the job's images (a 2x2 grid for a grid
job) made from the latents without a VAE decode: see ``engine/gpu/previews.py``."""


class JobCancelled(Exception):
    """The job was cancelled while it ran; nothing was produced."""


class JobControl:
    """Handed to the generate stage: it reports progress and previews, collects warnings for
    the user, and checks for cancellation.

    Every step is reported exactly once: to ``on_preview``, with the preview, at the steps
    that have one (every ``preview_every`` steps, 0: never), else to ``on_progress``. Without
    ``on_preview`` no preview is made, so a job nobody watches pays nothing for them, and
    ``on_progress`` sees every step as it always did.
    """

    def __init__(
        self,
        on_progress: ProgressCallback | None = None,
        *,
        on_preview: PreviewCallback | None = None,
        preview_every: int = 4,
    ) -> None:
        self._on_progress = on_progress
        self._on_preview = on_preview
        self.preview_every = preview_every
        self._cancelled = threading.Event()
        self.warnings: list[str] = []
        self._started = time.monotonic()
        self._previewed = False
        self.notes: dict[str, str] = {}
        """How the engine ran the job beyond the spec (the step cache), for the images'
        metadata: A1111 ``Key: value`` pairs."""

    def report(self, done: int, total: int) -> None:
        if self._on_progress is not None:
            self._on_progress(done, total)

    def step(
        self, done: int, total: int, make_preview: Callable[[], Image.Image] | None = None
    ) -> None:
        """Step ``done`` of ``total`` is finished: a preview (``make_preview()``, called only
        when one is due) or plain progress."""
        if make_preview is not None and self.wants_preview(done, total):
            self.preview(done, total, make_preview())
        else:
            self.report(done, total)

    def wants_preview(self, done: int, total: int) -> bool:
        """Whether a preview is due after step ``done``; never after the last step, where the
        finished images follow at once."""
        return (
            self._on_preview is not None
            and self.preview_every > 0
            and done < total
            and done % self.preview_every == 0
        )

    def preview(self, done: int, total: int, image: Image.Image) -> None:
        if self._on_preview is not None:
            self._previewed = True
            self._on_preview(done, total, image)

    def stage(self, done_before: int, total: int) -> JobControl:
        """The control of one pass of a job that runs several (HD, Fix Faces): its steps count
        after the ``done_before`` steps of the passes before it, out of the job's ``total``.
        It shares this control's cancellation and warnings."""
        child = JobControl(
            lambda done, _: self.report(done_before + done, total),
            preview_every=self.preview_every,
        )
        if self._on_preview is not None:
            child._on_preview = lambda done, _, image: self.preview(
                done_before + done, total, image
            )
        child._cancelled = self._cancelled
        child.warnings = self.warnings
        return child

    def seconds_if_cancelled(self) -> float:
        """The GPU time a cancelled job is charged: none before its first preview (the member
        got nothing), else the time since it was handed to a worker (they keep the previews,
        so cancelling at the last step must not be a free render)."""
        return time.monotonic() - self._started if self._previewed else 0.0

    def warn(self, message: str) -> None:
        """Tell the user something about how the result was made (shown with the result)."""
        if message not in self.warnings:
            self.warnings.append(message)

    def note(self, key: str, value: str) -> None:
        """Record how the job ran, for its images' generation parameters."""
        self.notes[key] = value

    def cancel(self) -> None:
        """Ask the job to stop at its next step; safe to call from any thread."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()
