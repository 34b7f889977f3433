"""Step caching: a transformer reuses its own work between denoising steps.

Adjacent steps of a many-step run change the transformer's blocks little, so diffusers' cache
hooks skip most of them on many steps:

- ``first_block`` (First-Block Cache): every step runs the first block; when its output changed
  by less than the threshold (relative mean absolute change) since the last full step, the
  other blocks are skipped and their last change is added back instead.
- ``taylorseer`` (TaylorSeer, lite): a full step every ``cache_interval`` steps; the steps
  between skip every block and predict the output projection from a first-order Taylor series.

The hooks are attached for one pipeline call and removed after it (``applied_step_cache``),
so their state (the last residuals, the step counters) never outlives a job, another job
cannot inherit a draft's threshold, and a job without a cache runs exactly the plain model.
The hooks wrap each block's ``forward`` from the outside, so regionally compiled blocks
(``acceleration.compile_blocks``) keep their compiled graphs: the cache's decisions run eagerly
around them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from diffusers import DiffusionPipeline
from diffusers.hooks import (
    FirstBlockCacheConfig,
    HookRegistry,
    ModelHook,
    TaylorSeerCacheConfig,
    apply_first_block_cache,
    apply_taylorseer_cache,
)
from diffusers.hooks.hooks import CacheContext, _set_cache_context
from diffusers.models.cache_utils import CacheMixin

from imagine_bot.config.engine import EngineSettings, StepCacheName
from imagine_bot.engine.gpu.families import Family
from imagine_bot.engine.spec import GenerationSpec

AUTO_MIN_STEPS = 16
"""``cache = "auto"`` leaves runs shorter than this alone: few-step distilled models (FLUX.1
[schnell], Z-Image-Turbo, Lightning LoRAs) change a lot at every step, so reusing one would
show."""
BLOCK_LISTS = ("transformer_blocks", "single_transformer_blocks", "layers")
"""The attribute names of the block lists diffusers' transformers keep their blocks in."""
OUTPUT_LAYERS = r"^(proj_out|all_final_layer\.[^.]+)$"
"""The transformer's output projection, which TaylorSeer predicts (Z-Image's final layer)."""
_CONTEXT_HOOK = "imagine_cache_context"


@dataclass(frozen=True)
class StepCache:
    """The cache one job runs with."""

    name: StepCacheName
    threshold: float | None = None
    """First-Block Cache's threshold."""
    interval: int | None = None
    """TaylorSeer's steps between full computations."""

    def __str__(self) -> str:
        """As the image's metadata shows it: ``first_block 0.08``, ``taylorseer 4``."""
        return f"{self.name} {self.threshold if self.name == 'first_block' else self.interval}"


def choose_step_cache(
    engine: EngineSettings,
    device: torch.device,
    family: Family,
    spec: GenerationSpec,
    warn: Callable[[str], None],
) -> StepCache | None:
    """The step cache for ``spec`` on ``family``, or None for the plain model.

    ``auto`` runs the family's default on CUDA for runs of ``AUTO_MIN_STEPS`` or more (on
    the CPU the plain model keeps images identical to bare diffusers'; name a cache to run it
    there). A named cache runs on any device; where the family cannot run it, the job runs
    without one and ``warn`` says so.
    """
    defaults = family.step_cache
    if engine.cache == "off" or (engine.cache == "auto" and defaults is None):
        return None
    if engine.cache == "auto":
        assert defaults is not None
        if device.type != "cuda" or spec.steps < AUTO_MIN_STEPS:
            return None
        name: StepCacheName = defaults.cache
    else:
        name = engine.cache
    if defaults is None or (name == "first_block" and not defaults.first_block):
        warn(
            f"The step cache {name!r} (engine.cache) does not run on {family.title} models, "
            "so this job ran without one."
        )
        return None
    if name == "taylorseer":
        return StepCache(name, interval=engine.cache_interval)
    draft = bool(spec.flags.get("draft"))
    setting = engine.draft_cache_threshold if draft else engine.cache_threshold
    if setting != "auto":
        return StepCache(name, threshold=setting)
    return StepCache(name, threshold=defaults.draft_threshold if draft else defaults.threshold)


@contextmanager
def applied_step_cache(pipeline: DiffusionPipeline, cache: StepCache | None) -> Iterator[None]:
    """``pipeline``'s transformer runs with ``cache`` inside the block; None: as it is."""
    denoiser = getattr(pipeline, "transformer", None)
    if cache is None or denoiser is None:
        yield
        return
    before = _hooks(denoiser)
    try:
        _attach(denoiser, cache)
        if not isinstance(denoiser, CacheMixin):
            # Pipelines of transformers without CacheMixin (Z-Image) never open the cache
            # context the hooks keep their state under: one context for every call.
            HookRegistry.check_if_exists_or_initialize(denoiser).register_hook(
                _OneContext(), _CONTEXT_HOOK
            )
        HookRegistry.check_if_exists_or_initialize(denoiser).invalidate_child_registries_cache()
        yield
    finally:
        for module, name in _hooks(denoiser) - before:
            module._diffusers_hook.remove_hook(name, recurse=False)
        HookRegistry.check_if_exists_or_initialize(denoiser).invalidate_child_registries_cache()


def _attach(denoiser: torch.nn.Module, cache: StepCache) -> None:
    if cache.name == "first_block":
        assert cache.threshold is not None
        apply_first_block_cache(denoiser, FirstBlockCacheConfig(threshold=cache.threshold))
        return
    assert cache.interval is not None
    blocks = "|".join(BLOCK_LISTS)
    apply_taylorseer_cache(
        denoiser,
        TaylorSeerCacheConfig(
            cache_interval=cache.interval,
            # TaylorSeer's lite mode, with every block list of BLOCK_LISTS: the blocks return
            # zeros on predicted steps and the output projection is predicted.
            skip_predict_identifiers=[rf"^({blocks})\.\d+$"],
            cache_identifiers=[OUTPUT_LAYERS],
            taylor_factors_dtype=torch.float32,
        ),
    )


def _hooks(denoiser: torch.nn.Module) -> set[tuple[torch.nn.Module, str]]:
    """Every (module, hook name) of diffusers' hook registries in ``denoiser``."""
    return {
        (module, name)
        for module in denoiser.modules()
        if hasattr(module, "_diffusers_hook")
        for name in module._diffusers_hook.hooks
    }


class _OneContext(ModelHook):  # type: ignore[misc]
    """Opens the ``cond`` cache context around each call of the transformer."""

    def pre_forward(
        self, module: torch.nn.Module, *args: Any, **kwargs: Any
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        _set_cache_context(module, CacheContext("cond"))
        return args, kwargs

    def post_forward(self, module: torch.nn.Module, output: Any) -> Any:
        _set_cache_context(module, None)
        return output


def block_lists(denoiser: torch.nn.Module) -> list[torch.nn.ModuleList]:
    """The transformer's lists of repeated blocks (what the caches skip)."""
    return [
        child
        for name, child in denoiser.named_children()
        if name in BLOCK_LISTS and isinstance(child, torch.nn.ModuleList)
    ]
