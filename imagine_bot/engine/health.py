"""How a GPU worker is doing, as ``/healthz`` and ``/metrics`` report it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WorkerHealth:
    name: str
    """Which worker: its device, or its node and GPU."""
    alive: bool
    """It can take jobs (its thread runs, its actor answers)."""
    model: str
    """The default model, which it is expected to hold."""
    model_loaded: bool
    warm_up: bool = True
    """It loads the default model when it starts (``engine.warm_up``); without that it is ready
    once alive, and the first job loads the model."""

    @property
    def problem(self) -> str | None:
        """Why the worker is not ready, in a sentence; None when it is."""
        if not self.alive:
            return f"worker {self.name} is not running"
        if self.warm_up and not self.model_loaded:
            return f"worker {self.name} has not loaded the default model {self.model!r} (yet)"
        return None
