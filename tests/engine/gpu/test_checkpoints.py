"""A single-file checkpoint (the ldm layout Civitai models come in) loads and generates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import huggingface_hub
import numpy as np
import pytest
from diffusers import StableDiffusionPipeline

from imagine_bot.config import Settings, load_settings
from imagine_bot.engine.control import JobControl
from imagine_bot.engine.errors import ModelUnavailable
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.engine.gpu.tiny import ensure_tiny_model
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.plugins.planner import JobPlanner
from imagine_bot.plugins.runner import JobRunner
from tests.support.single_file import save_single_file

SINGLE = {
    "RESOLUTION": "128",
    "STEPS": "4",
    "GUIDANCE": "5",
    "SCHEDULER": "euler_a",
    "FAMILY": "sd1",
}
"""The tiny preset's defaults in the tests, so both presets make the same images."""


@pytest.fixture(scope="module")
def checkpoint(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tiny = StableDiffusionPipeline.from_pretrained(ensure_tiny_model(settings.paths.models))
    return save_single_file(tiny, tmp_path_factory.mktemp("civitai") / "tiny-v1.safetensors")


def single_file_settings(test_env: dict[str, str], source: Path, config: Path | None) -> Settings:
    env = {f"IMAGINE_MODELS__SINGLE__{key}": value for key, value in SINGLE.items()}
    env["IMAGINE_MODELS__SINGLE__SOURCE"] = str(source)
    if config is not None:
        env["IMAGINE_MODELS__SINGLE__CONFIG"] = str(config)
    return load_settings(env={**test_env, **env})


@pytest.fixture(scope="module")
def single(
    test_env: dict[str, str], settings: Settings, checkpoint: Path
) -> Iterator[tuple[Settings, JobRunner]]:
    configured = single_file_settings(
        test_env, checkpoint, ensure_tiny_model(settings.paths.models)
    )
    runner = JobRunner(build_plugin_manager(configured), ModelRegistry(configured))
    yield configured, runner
    runner.close()


async def test_a_single_file_checkpoint_loads_the_same_weights_and_generates(
    single: tuple[Settings, JobRunner], planner: JobPlanner, runner: JobRunner
) -> None:
    configured, single_runner = single
    prompt = "a lighthouse at dusk --seed 5"
    (spec,) = await JobPlanner(configured, build_plugin_manager(configured)).plan(
        prompt + " --model single"
    )
    assert spec.model == "single"
    result = single_runner.submit(spec, JobControl()).result()
    assert [image.size for image in result.images] == [(128, 128)] * 4

    def weights(registry: ModelRegistry, name: str) -> dict[str, np.ndarray]:
        unet = registry.pipeline(name).unet
        return {key: value.numpy() for key, value in unet.state_dict().items()}

    loaded = single_runner.call(weights, single_runner.models, "single").result()
    original = runner.call(weights, runner.models, "tiny").result()
    assert loaded.keys() == original.keys()
    assert all(np.array_equal(loaded[key], original[key]) for key in original)
    # the same weights, scheduler and seeds: the same images as the diffusers folder gives
    (tiny_spec,) = await planner.plan(prompt)
    expected = runner.submit(tiny_spec, JobControl()).result()
    for made, wanted in zip(result.images, expected.images, strict=True):
        assert np.array_equal(np.asarray(made), np.asarray(wanted))


def test_without_config_offline_the_error_says_what_to_set(
    test_env: dict[str, str],
    checkpoint: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Offline, with an empty hub cache: diffusers cannot fetch the configs it infers.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    registry = ModelRegistry(single_file_settings(test_env, checkpoint, None))
    registry.claim_thread()
    with pytest.raises(ModelUnavailable) as refused:
        registry.pipeline("single")
    # The admin's details (log, CLI) say what to set; the member reads a plain sentence.
    assert "Check models.single.config (a local diffusers folder" in refused.value.details
