"""Progress and cancellation between a running job and whoever waits for it."""

from __future__ import annotations

import threading
from collections.abc import Callable

ProgressCallback = Callable[[int, int], None]
"""Called on the worker thread with (steps done, total steps); must return quickly."""


class JobCancelled(Exception):
    """The job was cancelled while it ran; nothing was produced."""


class JobControl:
    """Handed to the generate stage: it reports progress and checks for cancellation."""

    def __init__(self, on_progress: ProgressCallback | None = None) -> None:
        self._on_progress = on_progress
        self._cancelled = threading.Event()

    def report(self, done: int, total: int) -> None:
        if self._on_progress is not None:
            self._on_progress(done, total)

    def cancel(self) -> None:
        """Ask the job to stop at its next step; safe to call from any thread."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()
