"""Step caching (``engine/gpu/step_cache.py``): the cache a job runs, attached for its call
only, so no state, threshold or hook outlives it; and the settings are checked at load."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch

from imagine_bot.config import SettingsError, load_settings
from imagine_bot.config.engine import EngineSettings
from imagine_bot.engine.control import JobControl
from imagine_bot.engine.gpu.families import FAMILIES
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.engine.gpu.step_cache import StepCache, applied_step_cache, choose_step_cache
from imagine_bot.engine.spec import GenerationSpec, PromptPart
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.plugins.runner import JobRunner

CPU, CUDA = torch.device("cpu"), torch.device("cuda")
FORCED = {"IMAGINE_ENGINE__CACHE": "first_block", "IMAGINE_ENGINE__CACHE_THRESHOLD": "0.9"}
"""A threshold no random tiny model's steps stay above: the cache surely skips blocks."""


def spec(steps: int = 28, draft: bool = False, seed: int = 7, model: str = "tiny-flux") -> Any:
    return GenerationSpec(
        prompt="a lighthouse",
        parts=(PromptPart(text="a lighthouse"),),
        negative_prompt="",
        flags={"draft": True} if draft else {},
        model=model,
        width=64,
        height=64,
        steps=steps,
        guidance=3.5,
        scheduler="default",
        seeds=(seed, seed + 1),
        lane="fast",
    )


def chosen(engine: EngineSettings, device: torch.device, family: str, job: Any) -> Any:
    warnings: list[str] = []
    cache = choose_step_cache(engine, device, FAMILIES[family], job, warnings.append)
    return cache, warnings


def test_auto_runs_the_familys_cache_on_cuda_for_long_runs_only() -> None:
    auto = EngineSettings()
    assert chosen(auto, CUDA, "flux1", spec()) == (StepCache("first_block", threshold=0.08), [])
    assert chosen(auto, CUDA, "flux1", spec(draft=True))[0] == StepCache("first_block", 0.12)
    assert chosen(auto, CUDA, "zimage", spec())[0] == StepCache("taylorseer", interval=4)
    assert chosen(auto, CUDA, "flux1", spec(steps=8)) == (None, [])  # schnell, Turbo
    assert chosen(auto, CUDA, "sdxl", spec()) == (None, [])  # a UNet
    assert chosen(auto, CPU, "flux1", spec()) == (None, [])
    assert chosen(EngineSettings(cache="off"), CUDA, "flux1", spec()) == (None, [])


def test_a_named_cache_runs_anywhere_with_the_configured_thresholds() -> None:
    engine = EngineSettings(cache="first_block", cache_threshold=0.1, draft_cache_threshold=0.3)
    assert chosen(engine, CPU, "flux1", spec(steps=4))[0] == StepCache("first_block", 0.1)
    assert chosen(engine, CPU, "flux1", spec(draft=True))[0] == StepCache("first_block", 0.3)
    taylor = EngineSettings(cache="taylorseer", cache_interval=3)
    assert chosen(taylor, CPU, "qwen_image", spec())[0] == StepCache("taylorseer", interval=3)


def test_a_cache_the_family_cannot_run_is_a_warning_not_a_silent_no_op() -> None:
    engine = EngineSettings(cache="first_block")
    for family in ("zimage", "sdxl"):
        cache, warnings = chosen(engine, CPU, family, spec())
        assert cache is None
        assert warnings == [
            f"The step cache 'first_block' (engine.cache) does not run on "
            f"{FAMILIES[family].title} models, so this job ran without one."
        ]


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"CACHE": "fastest"}, "cache"),
        ({"CACHE_THRESHOLD": "1.5"}, "between 0 and 1"),
        ({"CACHE_THRESHOLD": "0"}, "between 0 and 1"),
        ({"CACHE_THRESHOLD": "0.2", "DRAFT_CACHE_THRESHOLD": "0.1"}, "equal or higher"),
        ({"CACHE_INTERVAL": "1"}, "cache_interval"),
    ],
)
def test_cache_settings_are_checked_at_load(env: dict[str, str], words: str) -> None:
    with pytest.raises(SettingsError, match=words):
        load_settings(env={f"IMAGINE_ENGINE__{key}": value for key, value in env.items()})


@pytest.fixture(scope="module")
def registries(test_env: dict[str, str]) -> Iterator[tuple[ModelRegistry, ModelRegistry]]:
    """The tiny FLUX.1 preset loaded twice: one pipeline runs caches, the other never does."""
    used, fresh = (ModelRegistry(load_settings(env=test_env)) for _ in range(2))
    for registry in (used, fresh):
        registry.claim_thread()
    yield used, fresh


def images(pipeline: Any) -> np.ndarray:
    out = pipeline(
        prompt=["a lighthouse", "a boat"],
        width=64,
        height=64,
        num_inference_steps=6,
        generator=[torch.Generator().manual_seed(seed) for seed in (1, 2)],
        output_type="np",
    ).images
    return np.asarray(out)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model", "cache"),
    [
        ("tiny-flux", StepCache("first_block", threshold=0.9)),
        ("tiny-flux", StepCache("taylorseer", interval=2)),
        # First-Block Cache cannot read Z-Image's blocks: choose_step_cache refuses that pair
        # with a warning (test_a_cache_the_family_cannot_run_is_a_warning_not_a_silent_no_op).
        ("tiny-zimage", StepCache("taylorseer", interval=2)),
    ],
)
def test_a_cache_applies_to_its_call_only(
    registries: tuple[ModelRegistry, ModelRegistry], cache: StepCache, model: str
) -> None:
    used, fresh = (registry.pipeline(model) for registry in registries)
    plain = images(fresh)
    with applied_step_cache(used, cache):
        cached = images(used)
    with applied_step_cache(used, cache):
        cached_again = images(used)
    assert not np.array_equal(cached, plain)  # the cache really skipped work
    np.testing.assert_array_equal(cached_again, cached)  # no state carried between calls
    np.testing.assert_array_equal(images(used), plain)  # removed: the plain model again
    assert not any(
        getattr(module, "_diffusers_hook", None) and module._diffusers_hook.hooks
        for module in used.transformer.modules()
    )


@pytest.mark.slow
def test_jobs_and_batches_with_a_cache_leave_nothing_behind(test_env: dict[str, str]) -> None:
    def runner() -> JobRunner:
        settings = load_settings(env={**test_env, **FORCED})
        return JobRunner(build_plugin_manager(settings), ModelRegistry(settings))

    first, second = runner(), runner()
    try:
        alone = first.submit(spec(steps=4), JobControl()).result()
        assert "Step cache: first_block 0.9" in alone.parameters[0]
        batch = [spec(steps=4, seed=seed) for seed in (7, 21)]
        batched = second.submit_batch(batch, [JobControl(), JobControl()]).result()
        assert all("Step cache: first_block 0.9" in r.parameters[0] for r in batched)  # type: ignore[union-attr]
        again = second.submit(spec(steps=4), JobControl()).result()  # after the batch
        for image, same in zip(alone.images, again.images, strict=True):
            np.testing.assert_array_equal(np.asarray(image), np.asarray(same))
    finally:
        first.close()
        second.close()
