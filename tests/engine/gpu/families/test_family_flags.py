"""Every registered flag on every family's tiny model: it changes what the denoiser is given
(or the job's lane and count), or a warning names the flag. No pair is silent.

The flag list comes from the plugin registry, so a new flag without a sample here fails
``test_every_registered_flag_has_a_sample``; a family gets a row by having a tiny model.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import torch
from diffusers import DiffusionPipeline

from imagine_bot.config import Settings, load_settings
from imagine_bot.engine.control import JobControl
from imagine_bot.engine.errors import UserError
from imagine_bot.engine.gpu.families import FAMILIES
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.engine.gpu.seamless import tiling_convolutions
from imagine_bot.engine.gpu.tiny import PREFIX
from imagine_bot.plugins.flags import Flag
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.plugins.planner import JobPlanner
from imagine_bot.plugins.runner import JobRunner
from tests.support.tiny_family_lora import save_transformer_lora
from tests.support.tiny_lora import save_tiny_lora

TINY_MODELS = {
    family.name: family.tiny_source.removeprefix(PREFIX)
    for family in FAMILIES.values()
    if family.tiny_source is not None
}
BASE = "a lighthouse"
SEED = "--seed 7"
REF = "https://images.test/ref.png"
SAMPLES = {
    "ar": "--ar 3:2",
    "chaos": "--chaos 80",
    "no": "--no boats",
    "quality": "--q 2",
    "seed": "--seed 8",
    "stop": "--stop 50",
    "stylize": "--s 1000",
    "tile": "--tile",
    "weird": "--weird 10",
    "iw": "--iw 2",
    "sref": f"--sref {REF}",
    "sw": "--sw 300",
    "sv": "--sv 2",
    "cref": f"--cref {REF}",
    "cw": "--cw 50",
    "oref": f"--oref {REF}",
    "ow": "--ow 300",
    "zoom": "--zoom 1.5",
    "draft": "--draft",
    "repeat": "--repeat 2",
    "style": "--style raw",
    "raw": "--raw",
    "niji": "--niji 6",
    "v": "--v 7",
    "fast": "--fast",
    "relax": "--relax",
    "turbo": "--turbo",
    "p": "--p",
    "exp": "--exp 10",
    "stealth": "--stealth",
    "public": "--public",
    "model": "--model tiny",
    "lora": "--lora look_{family}",
    "hd": "--hd",
    "fix": "--fix faces",
    "structure": f"--structure {REF}",
    "structure-weight": "--structure-weight 1.5",
    "blend": "a lighthouse::2 a storm::1",
}
"""One use of each flag (``blend``: the ``::`` weights, which are not a flag but a syntax)."""
LANE_FLAGS = ("fast", "relax", "turbo")


@pytest.fixture(scope="module")
def table_settings(
    settings: Settings, test_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """The tiny presets at 128 px (``--ar`` snaps to multiples of 64) and 2 steps, and a LoRA
    preset in each family's format."""
    models = "\n".join(
        f"[models.{name}]\nresolution = 128\nsteps = 2\ndraft_resolution = 64\ndraft_steps = 1"
        for name in TINY_MODELS.values()
    )
    loras = []
    folder = tmp_path_factory.mktemp("flag-table")
    registry = ModelRegistry(settings)
    registry.claim_thread()
    for family, name in TINY_MODELS.items():
        pipeline = registry.pipeline(name)
        path = folder / f"look_{family}.safetensors"
        if hasattr(pipeline, "unet"):
            save_tiny_lora(pipeline.unet, path, seed=4)
        else:
            save_transformer_lora(pipeline, path, seed=4)
        lora_family = settings.models[name].family or family
        loras.append(f'[loras.look_{family}]\nsource = "{path}"\nfamily = "{lora_family}"')
    toml = folder / "imagine.toml"
    toml.write_text(models + "\n" + "\n".join(loras) + "\n")
    return load_settings(toml, env=test_env)


@dataclass
class Denoised:
    calls: list[tuple[str, tuple[Any, ...]]]


@pytest.fixture(scope="module")
def table_runner(table_settings: Settings) -> Iterator[tuple[JobRunner, Denoised]]:
    """A runner whose every denoiser call (of every tiny preset) is recorded as a digest of
    its inputs, with whether the convolutions padded circularly."""
    runner = JobRunner(build_plugin_manager(table_settings), ModelRegistry(table_settings))
    seen = Denoised([])

    def hook(name: str) -> None:
        pipeline: DiffusionPipeline = runner.models.pipeline(name)
        denoiser = getattr(pipeline, "unet", None) or pipeline.transformer
        convolutions = tiling_convolutions(pipeline)

        def record(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            circular = any(conv.padding_mode == "circular" for conv in convolutions)
            seen.calls.append((name, (circular, *map(digest, (*args, *kwargs.values())))))

        denoiser.register_forward_pre_hook(record, with_kwargs=True)

    for name in table_settings.models:
        runner._worker.submit(lambda: hook(name)).result()  # noqa: B023
    yield runner, seen
    runner.close()


def digest(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return (tuple(value.shape), round(float(value.double().abs().sum()), 3))
    if isinstance(value, (list, tuple)):
        return tuple(map(digest, value))
    return value if isinstance(value, (int, float, str, bool, type(None))) else type(value)


def registered_flags(settings: Settings) -> list[Flag]:
    flags: list[Flag] = []
    build_plugin_manager(settings).hook.imagine_register_flags(register=flags.append)
    return flags


def test_every_registered_flag_has_a_sample(settings: Settings) -> None:
    names = {flag.name for flag in registered_flags(settings)}
    assert names == set(SAMPLES) - {"blend"}


@dataclass
class Outcome:
    observed: tuple[Any, ...]
    warnings: list[str]


async def outcome(
    planner: JobPlanner, runner: JobRunner, seen: Denoised, model: str, text: str
) -> Outcome:
    try:
        specs = await planner.plan(text, model=model)
    except UserError as refusal:  # refused before anything runs: the member reads why
        return Outcome((), [str(refusal)])
    control = JobControl()
    seen.calls.clear()
    result = runner.submit(specs[0], control).result()
    return Outcome(
        (len(specs), specs[0].lane, tuple(seen.calls)),
        [*specs[0].warnings, *result.warnings],
    )


@pytest.mark.slow
@pytest.mark.parametrize("family", list(TINY_MODELS))
async def test_every_flag_changes_the_pipeline_inputs_or_warns(
    family: str, table_settings: Settings, table_runner: tuple[JobRunner, Denoised]
) -> None:
    runner, seen = table_runner
    planner = JobPlanner(table_settings, build_plugin_manager(table_settings))
    model = TINY_MODELS[family]
    base = await outcome(planner, runner, seen, model, f"{BASE} {SEED}")
    assert base.observed[2] and not base.warnings
    silent = []
    for name, sample in SAMPLES.items():
        use = sample.format(family=family)
        text = f"{use} {SEED}" if name == "blend" else f"{BASE} {use}"
        if name != "seed" and name != "blend":
            text += f" {SEED}"
        got = await outcome(planner, runner, seen, model, text)
        spelling = "::" if name == "blend" else f"--{name}"
        warned = any(spelling in warning for warning in got.warnings)
        # A lane flag's effect is its lane, the default one included.
        changed = got.observed[1] == name if name in LANE_FLAGS else got.observed != base.observed
        if not (changed or warned):
            silent.append(name)
        if warned and not changed and name in FAMILY_ANSWERS:
            # A warning the family is the reason for names the model too.
            assert any(model in warning for warning in got.warnings), (name, got.warnings)
    assert not silent, f"{model}: silent flags {silent}"


FAMILY_ANSWERS = ("chaos", "no", "stylize", "tile", "sref", "cref", "oref", "blend", "style", "raw")
"""Flags whose meaning depends on the family (or the preset): a warning for them names it."""
