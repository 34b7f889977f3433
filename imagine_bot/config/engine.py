"""The ``[engine]`` table: the device, precision and speed settings of the GPU path."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from imagine_bot.config.quoting import quoted

DEVICE_NAME = re.compile(r"auto|cpu|mps|(?:cuda|xpu)(?::\d+)?")

StepCacheName = Literal["first_block", "taylorseer"]
"""The step caches of diffusers' hooks the engine can run (``engine/gpu/step_cache.py``)."""
CacheThreshold = float | Literal["auto"]


class EngineSettings(BaseModel):
    """See default.toml's ``[engine]`` and docs/performance.md, "The GPU path"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device: str = "auto"
    dtype: Literal["auto", "float32", "float16", "bfloat16", "fp8"] = "auto"
    """``fp8``: the denoiser's linear layers in float8 (torchao, Hopper-class GPUs), the rest
    in bfloat16."""
    max_pixels: int = Field(2048 * 2048, ge=64 * 64)
    attention: Literal["sdpa", "eager"] = "sdpa"
    channels_last: bool | Literal["auto"] = "auto"
    vae_slice_above: int = Field(2 * 1024 * 1024, ge=0)
    vae_tile_above: int = Field(1536 * 1536, ge=0)
    cpu_offload: Literal["auto", "off", "model", "sequential"] = "auto"
    compile: bool = False
    compile_mode: Literal[
        "auto", "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"
    ] = "auto"
    cache: Literal["auto", "off"] | StepCacheName = "auto"
    """Reuse the transformer's work between denoising steps; ``auto``: the family's own
    cache on CUDA for runs of enough steps, else off."""
    cache_threshold: CacheThreshold = "auto"
    draft_cache_threshold: CacheThreshold = "auto"
    """First-block cache's threshold for ``--draft`` jobs (higher: more steps reused)."""
    cache_interval: int = Field(4, ge=2, le=20)
    """TaylorSeer's full computations come every ``cache_interval`` steps."""
    warm_up: bool = True
    preview_every: int = Field(4, ge=0)
    threads: int = Field(0, ge=0, le=1024)
    """torch's CPU threads; 0 leaves torch's default (or OMP_NUM_THREADS)."""

    @field_validator("cache_threshold", "draft_cache_threshold")
    @classmethod
    def _threshold_range(cls, value: CacheThreshold) -> CacheThreshold:
        if value != "auto" and not 0 < value < 1:
            raise ValueError(
                f"{value} is not a cache threshold; use a number between 0 and 1 (the "
                "relative change of the first block's output below which a step is reused; "
                'about 0.05-0.2) or "auto"'
            )
        return value

    @model_validator(mode="after")
    def _draft_not_stricter(self) -> EngineSettings:
        normal, draft = self.cache_threshold, self.draft_cache_threshold
        if isinstance(normal, float) and isinstance(draft, float) and draft < normal:
            raise ValueError(
                f"engine.draft_cache_threshold ({self.draft_cache_threshold}) is below "
                f"engine.cache_threshold ({self.cache_threshold}); a draft reuses at least as "
                "much, so set it equal or higher"
            )
        return self

    @field_validator("device")
    @classmethod
    def _device_name(cls, value: str) -> str:
        if not DEVICE_NAME.fullmatch(value):
            raise ValueError(
                f"{quoted(value)} is not a device; use auto, cpu, cuda, cuda:N, mps or xpu:N"
            )
        return value
