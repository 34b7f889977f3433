"""LoRA presets: applied for their job only, weighed, several at once, refused off-family."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch
from diffusers import StableDiffusionPipeline

from imagine_bot.config import Settings, load_settings
from imagine_bot.engine.control import JobControl
from imagine_bot.engine.errors import LoraUnusable, PromptError, UserError
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.engine.gpu.tiny import ensure_tiny_model
from imagine_bot.engine.spec import GenerationSpec, LoraUse
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.plugins.planner import JobPlanner
from imagine_bot.plugins.runner import JobRunner
from tests.support.tiny_lora import save_tiny_lora


@pytest.fixture(scope="module")
def lora_settings(
    settings: Settings, test_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    folder = tmp_path_factory.mktemp("loras")
    unet = StableDiffusionPipeline.from_pretrained(ensure_tiny_model(settings.paths.models)).unet
    # A LoRA trained on a UNet with wider attention layers than the tiny model's.
    wide = unet.from_config(
        {**unet.config, "cross_attention_dim": 2 * unet.config.cross_attention_dim}
    )
    files = {
        "ink": save_tiny_lora(unet, folder / "ink.safetensors", seed=1),
        "wide": save_tiny_lora(wide, folder / "wide.safetensors", seed=3),
        "paper": save_tiny_lora(unet, folder / "paper_kohya.safetensors", seed=2, kohya=True),
    }
    env = {
        "IMAGINE_LORAS__INK__SOURCE": str(files["ink"]),
        "IMAGINE_LORAS__INK__FAMILY": "tiny",
        "IMAGINE_LORAS__PAPER__SOURCE": str(files["paper"]),
        "IMAGINE_LORAS__PAPER__FAMILY": "tiny",
        "IMAGINE_LORAS__PAPER__WEIGHT": "0.7",
        "IMAGINE_LORAS__PAPER__TRIGGERS": "papercut style",
        "IMAGINE_LORAS__XL__SOURCE": str(files["ink"]),
        "IMAGINE_LORAS__XL__FAMILY": "sdxl",
        "IMAGINE_LORAS__WIDE__SOURCE": str(files["wide"]),
        "IMAGINE_LORAS__WIDE__FAMILY": "tiny",
        "IMAGINE_LORAS__GONE__SOURCE": str(folder / "deleted" / "gone.safetensors"),
        "IMAGINE_LORAS__GONE__FAMILY": "tiny",
    }
    return load_settings(env={**test_env, **env})


@pytest.fixture(scope="module")
def lora_runner(lora_settings: Settings) -> Iterator[JobRunner]:
    runner = JobRunner(build_plugin_manager(lora_settings), ModelRegistry(lora_settings))
    yield runner
    runner.close()


@pytest.fixture
def lora_planner(lora_settings: Settings) -> JobPlanner:
    return JobPlanner(lora_settings, build_plugin_manager(lora_settings))


async def plan_one(planner: JobPlanner, text: str) -> GenerationSpec:
    (spec,) = await planner.plan(text)
    return spec


def first_projection(runner: JobRunner, spec: GenerationSpec) -> torch.Tensor:
    """What the first attention's query projection (LoRA'd, its input not) made at step 1."""
    seen: list[torch.Tensor] = []

    def attach() -> Any:
        attention = runner.models.pipeline("tiny").unet.down_blocks[1].attentions[0]
        block = attention.transformer_blocks[0].attn1

        def record(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            hidden = args[0] if args else kwargs["hidden_states"]
            if not seen:
                seen.append(module.to_q(hidden).detach().clone())

        return block.register_forward_pre_hook(record, with_kwargs=True)

    handle = runner.call(attach).result()
    try:
        runner.submit(spec, JobControl()).result()
    finally:
        handle.remove()
    return seen[0]


def lora_layers(runner: JobRunner) -> list[str]:
    def names() -> list[str]:
        unet = runner.models.pipeline("tiny").unet
        return [name for name, _ in unet.named_modules() if "lora" in name.lower()]

    return runner.call(names).result()


async def test_a_lora_changes_the_unet_for_its_job_only(
    lora_planner: JobPlanner, lora_runner: JobRunner
) -> None:
    plain = await plan_one(lora_planner, "a lighthouse --seed 4")
    with_ink = await plan_one(lora_planner, "a lighthouse --seed 4 --lora ink")
    assert with_ink.loras == (LoraUse(name="ink", weight=1.0),)
    assert with_ink.prompt == plain.prompt  # ink has no trigger words

    before = first_projection(lora_runner, plain)
    applied = first_projection(lora_runner, with_ink)
    after = first_projection(lora_runner, plain)
    assert (applied - before).abs().mean() > 0.01 * before.abs().mean()
    assert torch.equal(after, before)  # the next job runs on the untouched model
    assert lora_layers(lora_runner) == []


async def test_two_loras_add_up_with_their_weights(
    lora_planner: JobPlanner, lora_runner: JobRunner
) -> None:
    prompt = "a lighthouse --seed 4"
    base = first_projection(lora_runner, await plan_one(lora_planner, prompt))
    ink = first_projection(lora_runner, await plan_one(lora_planner, prompt + " --lora ink::1"))
    spec = await plan_one(lora_planner, prompt + " --lora ink::1")
    # paper (kohya format) at its preset weight, 0.7, adds its trigger words to the prompt
    paper_spec = await plan_one(lora_planner, prompt + " --lora paper")
    assert paper_spec.loras == (LoraUse(name="paper", weight=0.7),)
    assert paper_spec.prompt.endswith(", papercut style")
    paper = first_projection(lora_runner, paper_spec.model_copy(update={"prompt": spec.prompt}))

    both = await plan_one(lora_planner, prompt + " --lora ink::0.5 --lora paper::-1")
    assert both.loras == (LoraUse(name="ink", weight=0.5), LoraUse(name="paper", weight=-1.0))
    mixed = first_projection(lora_runner, both)
    # A LoRA adds weight * B @ A to the layer: the deltas combine linearly.
    expected = base + 0.5 * (ink - base) - (paper - base) / 0.7
    assert torch.allclose(mixed, expected, atol=1e-4)
    assert lora_layers(lora_runner) == []


async def test_a_lora_of_another_family_is_refused_naming_both(lora_planner: JobPlanner) -> None:
    with pytest.raises(UserError) as refused:
        await lora_planner.plan("a lighthouse --lora xl")
    message = str(refused.value)
    assert "'xl' is for sdxl models" in message and "'tiny', which is tiny" in message


@pytest.mark.parametrize(
    ("name", "problem", "reason"),
    [("wide", "does not fit this model", "size mismatch"), ("gone", "could not be loaded", "")],
)
async def test_a_lora_that_fails_to_load_is_one_sentence_and_the_details_are_for_the_log(
    lora_planner: JobPlanner, lora_runner: JobRunner, name: str, problem: str, reason: str
) -> None:
    spec = await plan_one(lora_planner, f"a lighthouse --seed 4 --lora {name}")
    with pytest.raises(LoraUnusable) as failed:
        lora_runner.submit(spec, JobControl()).result()
    sentence = str(failed.value)
    assert sentence.startswith(f"The LoRA '{name}' {problem}") and len(sentence) < 200
    assert "safetensors" not in sentence and "/" not in sentence
    assert f"loras.{name}.source" in failed.value.details and reason in failed.value.details
    assert lora_layers(lora_runner) == []  # the model is left as it was
    plain = await plan_one(lora_planner, "a lighthouse")
    assert len(lora_runner.submit(plain, JobControl()).result().images) == len(plain.seeds)


async def test_unknown_loras_and_bad_weights_are_prompt_errors(lora_planner: JobPlanner) -> None:
    with pytest.raises(PromptError, match=r"no LoRA 'inc'\. Did you mean ink\?"):
        await lora_planner.plan("a lighthouse --lora inc")
    with pytest.raises(PromptError, match="from -4 to 4"):
        await lora_planner.plan("a lighthouse --lora ink::9")


async def test_actions_keep_the_loras_and_add_no_second_trigger(
    lora_planner: JobPlanner,
) -> None:
    parent = await plan_one(lora_planner, "a lighthouse --seed 4 --lora paper")
    (child,) = await lora_planner.derive(parent, "reroll", 0, None)
    assert child.loras == parent.loras
    assert child.prompt == parent.prompt and child.prompt.count("papercut style") == 1
