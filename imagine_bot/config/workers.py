"""Where the GPU work runs: local worker threads (one per device) or Ray actors (one per GPU)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class WorkerSettings(BaseModel):
    """The ``[workers]`` table (see README, "Workers and Ray")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: Literal["local", "ray"] = "local"
    devices: tuple[str, ...] = Field(("auto",), min_length=1)
    """Local backend: one worker thread, with its own models, per device ("auto", "cpu",
    "cuda:0", ...)."""
    max_batch: int = Field(4, ge=1, le=64)
    """Images per pipeline call: waiting jobs that are next anyway and share model, size, steps,
    scheduler and kind run together up to this many images (4: one grid, no batching)."""
    address: str = "auto"
    """Ray backend: the cluster to join ("auto": the one on this host; or ray://host:10001)."""
    count: int = Field(0, ge=0, le=1024)
    """Ray actors to start; 0: one per GPU in the cluster."""
    gpus_per_worker: float = Field(1.0, ge=0.0)
    cpus_per_worker: float = Field(1.0, ge=0.0)
    max_restarts: int = Field(3, ge=-1)
    """How often Ray restarts a dead actor (-1: always)."""
    reconnect_every: float = Field(10.0, gt=0)
    """Seconds between attempts to reach the Ray cluster while it is unreachable."""
