"""Image prompts, --sref and --cref/--oref: from the prompt to the IP-Adapter in the UNet.

The adapter is a tiny random one built for the tiny model's UNet and saved in the official
layout (``tests/support/tiny_ip_adapter.py``); the model preset points at it like at real
weights, and diffusers' ``load_ip_adapter`` loads it. Images come from a local https server
or the store.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from diffusers import StableDiffusionPipeline
from PIL import Image

from imagine_bot.config import Settings, load_settings
from imagine_bot.engine.control import JobControl
from imagine_bot.engine.errors import PromptError, UserError
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.engine.images.fetch import ImageFetcher
from imagine_bot.engine.images.store import ImageStore
from imagine_bot.engine.spec import GenerationSpec, ImageRole, ReferenceImage
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.plugins.planner import JobPlanner
from imagine_bot.plugins.runner import JobRunner
from tests.engine.conftest import FetcherFactory
from tests.engine.gpu.conftest import SMALL
from tests.support.https_server import Server
from tests.support.tiny_adapter import STYLE_LAYER, SUBJECT_LAYER, adapter_env


class NoNetwork(ImageFetcher):
    async def fetch(self, url: str) -> Any:
        raise AssertionError(f"nothing should be fetched, but {url} was")


def stored(
    store: ImageStore, color: tuple[int, int, int], role: ImageRole = "image"
) -> ReferenceImage:
    image = Image.new("RGB", (48, 48), color)
    image.paste((255 - color[0], color[1], 255 - color[2]), (0, 0, 24, 24))
    return ReferenceImage(
        role=role,
        source=f"{color}.png",
        sha256=store.put(image).sha256,
    )


async def plan_one(planner: JobPlanner, text: str, **kwargs: Any) -> GenerationSpec:
    (spec,) = await planner.plan(text, **kwargs)
    return spec


# --- prompt -> spec --------------------------------------------------------------------------


async def test_without_an_adapter_image_prompts_are_accepted_with_a_warning(
    settings: Settings,
) -> None:
    fetcher = NoNetwork(settings.fetch, ImageStore(settings.paths.store))
    planner = JobPlanner(settings, build_plugin_manager(settings), fetcher=fetcher)
    spec = await plan_one(
        planner,
        "https://cdn.discordapp.com/a.png a fox --iw 2 --sref https://cdn.discordapp.com/b.png",
    )
    assert spec.references == () and spec.reference_scales == {}
    (warning,) = spec.warnings
    assert "no image-prompt adapter (models.tiny.ip_adapter" in warning
    assert "the image prompt and --sref had no effect" in warning


async def test_image_prompts_are_fetched_once_at_accept_time_and_stored_by_hash(
    ip_planner: JobPlanner, server: Server, ip_store: ImageStore
) -> None:
    url = server.url("/red.png")
    specs = await ip_planner.plan(f"{url} a {{red, blue}} fox --iw 2 --repeat 2")
    assert len(specs) == 4 and server.hits == {"/red.png": 1}
    for spec in specs:
        (ref,) = spec.references
        assert (ref.role, ref.source, ref.weight) == ("image", url, 1.0)
        assert ref.sha256 is not None and ip_store.path(ref.sha256).is_file()
        assert spec.reference_scales == {"image": 1.0}  # image_scale 0.5 x --iw 2
        assert spec.warnings == ()
    assert GenerationSpec.model_validate_json(specs[0].model_dump_json()) == specs[0]


async def test_the_commands_attachment_is_an_image_prompt(
    ip_planner: JobPlanner, server: Server
) -> None:
    attachment = ReferenceImage(role="image", source=server.url("/anim.gif"))
    spec = await plan_one(ip_planner, "a fox", images=[attachment])
    assert [ref.role for ref in spec.references] == ["image"]
    assert spec.references[0].sha256 is not None and spec.reference_scales == {"image": 0.5}


async def test_a_refused_link_refuses_the_job(ip_planner: JobPlanner, server: Server) -> None:
    with pytest.raises(UserError, match=r"evil\.test is not one of them"):
        await ip_planner.plan(f"a fox --sref {server.url('/red.png')} https://evil.test/a.png")
    with pytest.raises(UserError, match="is not a PNG, JPEG, WebP or GIF image"):
        await ip_planner.plan(f"{server.url('/page.html')} a fox")


async def test_sref_weights_and_sw_set_the_style_scale(
    ip_planner: JobPlanner, server: Server
) -> None:
    red, gif = server.url("/red.png"), server.url("/anim.gif")
    spec = await plan_one(ip_planner, f"a fox --sref {red}::2 {gif} --sw 400")
    assert [(ref.role, ref.weight) for ref in spec.references] == [("style", 2.0), ("style", 1.0)]
    assert spec.reference_scales == {"style": pytest.approx(2.0)}  # 1.0 x sqrt(400 / 100)


async def test_style_codes_and_random_are_accepted_with_a_warning(
    ip_planner: JobPlanner, server: Server
) -> None:
    spec = await plan_one(ip_planner, "a fox --sref random 12345::2")
    assert spec.references == ()
    assert len(spec.warnings) == 2
    assert "--sref random: style codes and `random`" in spec.warnings[0]
    assert "the code 12345 was ignored" in spec.warnings[1]
    assert server.hits == {}


async def test_cref_and_oref_use_the_subject_blocks(ip_planner: JobPlanner, server: Server) -> None:
    url = server.url("/red.png")
    cref = await plan_one(ip_planner, f"a fox --cref {url} --cw 50")
    assert [ref.role for ref in cref.references] == ["subject"]
    assert cref.reference_scales == {"subject": pytest.approx(0.4)}  # 0.8 x 50 / 100
    oref = await plan_one(ip_planner, f"a fox --oref {url} --ow 400")
    assert oref.reference_scales == {"subject": pytest.approx(1.6)}  # 0.8 x sqrt(4)
    with pytest.raises(PromptError, match="Use --cref or --oref, not both"):
        await ip_planner.plan(f"a fox --cref {url} --oref {url}")


async def test_cref_without_subject_blocks_is_not_supported_by_the_model(
    test_env: dict[str, str], adapter_dir: Path, server: Server, make_fetcher: FetcherFactory
) -> None:
    env = {**test_env, **adapter_env(adapter_dir)}
    del env["IMAGINE_MODELS__TINY__IP_ADAPTER__SUBJECT_BLOCKS"]
    settings = load_settings(env=env)
    planner = JobPlanner(settings, build_plugin_manager(settings), fetcher=make_fetcher())
    spec = await plan_one(planner, f"a fox --cref {server.url('/red.png')}")
    assert spec.references == ()
    assert spec.warnings == (
        "--cref is not supported by the model 'tiny' (no models.tiny.ip_adapter.subject_blocks "
        "in the settings), so it was ignored.",
    )
    assert server.hits == {}


@pytest.mark.parametrize(
    ("prompt", "warning"),
    [
        ("a fox --iw 2", "--iw was ignored: the prompt has no image prompt."),
        ("a fox --sw 300", "--sw was ignored: the prompt has no --sref."),
        ("a fox --cw 30", "--cw was ignored: the prompt has no --cref."),
    ],
)
async def test_weights_without_their_images_are_ignored_with_a_warning(
    ip_planner: JobPlanner, prompt: str, warning: str
) -> None:
    assert (await plan_one(ip_planner, prompt)).warnings == (warning,)


async def test_weights_of_one_role_must_add_up_to_more_than_zero(
    ip_planner: JobPlanner, server: Server
) -> None:
    url = server.url("/red.png")
    with pytest.raises(PromptError, match="style images add up to -1"):
        await ip_planner.plan(f"a fox --sref {url}::-2 {url}::1")


# --- spec -> pipeline ------------------------------------------------------------------------


class PipelineSpy:
    """Records each pipeline call's arguments and the IP-Adapter scales in force during it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[dict[str, Any], dict[str, list[float]]]] = []
        original = StableDiffusionPipeline.__call__

        def spy(pipeline: Any, *args: Any, **kwargs: Any) -> Any:
            scales = {
                name: list(processor.scale)
                for name, processor in pipeline.unet.attn_processors.items()
                if hasattr(processor, "scale")
            }
            self.calls.append((kwargs, scales))
            return original(pipeline, *args, **kwargs)

        monkeypatch.setattr(StableDiffusionPipeline, "__call__", spy)


def run(runner: JobRunner, spec: GenerationSpec) -> np.ndarray:
    result = runner.submit(spec, JobControl()).result()
    return np.stack([np.asarray(image, dtype=np.float32) for image in result.images])


async def test_iw_and_sw_set_the_adapter_scales_per_block_and_change_the_images(
    ip_planner: JobPlanner,
    ip_runner: JobRunner,
    ip_store: ImageStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spy = PipelineSpy(monkeypatch)
    image, style = stored(ip_store, (200, 40, 40)), stored(ip_store, (30, 60, 220), "style")

    plain = run(ip_runner, await plan_one(ip_planner, "a fox --seed 3"))
    kwargs, scales = spy.calls[-1]
    assert "ip_adapter_image_embeds" not in kwargs and scales == {}  # the UNet as it was

    strong = run(ip_runner, await plan_one(ip_planner, "a fox --seed 3 --iw 2", images=[image]))
    kwargs, scales = spy.calls[-1]
    embeds = kwargs["ip_adapter_image_embeds"]  # image, style and subject adapters
    assert [tuple(tensor.shape) for tensor in embeds] == [(2, 1, 32)] * 3  # negative, positive
    assert torch.count_nonzero(embeds[0][1]) > 0 and torch.count_nonzero(embeds[1]) == 0
    assert len(scales) == 4  # every cross-attention layer carries the adapter ...
    assert all(layer == [1.0, 0.0, 0.0] for layer in scales.values())  # ... image at 0.5 x 2

    weak = run(ip_runner, await plan_one(ip_planner, "a fox --seed 3 --iw 0.5", images=[image]))
    assert all(layer == [0.25, 0.0, 0.0] for layer in spy.calls[-1][1].values())

    styled = run(ip_runner, await plan_one(ip_planner, "a fox --seed 3 --sw 400", images=[style]))
    kwargs, scales = spy.calls[-1]
    assert scales.pop(STYLE_LAYER) == [0.0, 2.0, 0.0]  # 1.0 x sqrt(400 / 100), style block only
    assert all(layer == [0.0, 0.0, 0.0] for layer in scales.values())
    assert torch.count_nonzero(kwargs["ip_adapter_image_embeds"][1][1]) > 0

    mildly = run(ip_runner, await plan_one(ip_planner, "a fox --seed 3 --sw 25", images=[style]))
    assert spy.calls[-1][1][STYLE_LAYER] == [0.0, 0.5, 0.0]

    def differ(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.abs(a - b).mean())

    assert differ(plain, strong) > 1 and differ(strong, weak) > 1 and differ(weak, plain) > 0.1
    assert differ(plain, styled) > 1 and differ(styled, mildly) > 0.1

    again = run(ip_runner, await plan_one(ip_planner, "a fox --seed 3"))
    assert np.array_equal(plain, again)  # the adapter is detached after each job


async def test_iw_0_adds_nothing(
    ip_planner: JobPlanner, ip_runner: JobRunner, ip_store: ImageStore
) -> None:
    image = stored(ip_store, (90, 90, 10))
    plain = run(ip_runner, await plan_one(ip_planner, "a fox --seed 8"))
    zero = run(ip_runner, await plan_one(ip_planner, "a fox --seed 8 --iw 0", images=[image]))
    assert np.array_equal(plain, zero)


async def test_cref_scales_only_the_subject_blocks(
    ip_planner: JobPlanner,
    ip_runner: JobRunner,
    server: Server,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spy = PipelineSpy(monkeypatch)
    run(ip_runner, await plan_one(ip_planner, f"a fox --seed 4 --cref {server.url('/red.png')}"))
    scales = spy.calls[-1][1]
    assert scales.pop(SUBJECT_LAYER) == [0.0, 0.0, pytest.approx(0.8)]
    assert all(layer == [0.0, 0.0, 0.0] for layer in scales.values())


async def test_images_of_one_role_blend_by_their_weights(
    ip_planner: JobPlanner, ip_runner: JobRunner, ip_store: ImageStore
) -> None:
    red, blue = stored(ip_store, (220, 20, 20), "style"), stored(ip_store, (20, 20, 220), "style")

    def weighted(ref: ReferenceImage, weight: float) -> ReferenceImage:
        return ref.model_copy(update={"weight": weight})

    async def grid(*refs: ReferenceImage) -> np.ndarray:
        return run(ip_runner, await plan_one(ip_planner, "a fox --seed 5", images=list(refs)))

    red_only = await grid(red)
    # a batch of two images encodes with other rounding than a batch of one
    assert np.abs(red_only - await grid(red, weighted(blue, 0.0))).max() <= 2
    more_red = await grid(weighted(red, 3), blue)
    more_blue = await grid(red, weighted(blue, 3))
    assert float(np.abs(more_red - more_blue).mean()) > 0.1
    assert float(np.abs(more_red - red_only).mean()) < float(np.abs(more_blue - red_only).mean())


async def test_a_url_prompt_runs_end_to_end(
    ip_planner: JobPlanner, ip_runner: JobRunner, server: Server
) -> None:
    spec = await plan_one(ip_planner, f"{server.url('/big.png')} a fox --seed 9 --iw 3")
    assert math.isclose(spec.reference_scales["image"], 1.5)
    assert run(ip_runner, spec).shape == (4, spec.height, spec.width, 3)


def test_block_scales_that_do_not_fit_the_model_are_a_clear_error(
    test_env: dict[str, str], adapter_dir: Path, ip_store: ImageStore
) -> None:
    env = {**test_env, **adapter_env(adapter_dir)}
    env["IMAGINE_MODELS__TINY__IP_ADAPTER__STYLE_BLOCKS"] = "{ up = { block_0 = [0.0, 1.0, 0.0] } }"
    settings = load_settings(env=env)
    runner = JobRunner(build_plugin_manager(settings), ModelRegistry(settings))
    spec = GenerationSpec(
        prompt="a fox", parts=(), negative_prompt="", model="tiny", width=64, height=64,
        steps=1, guidance=5.0, scheduler="euler", seeds=(1, 2, 3, 4), lane="fast",
        references=(stored(ip_store, (1, 2, 3), "style"),), reference_scales={"style": 1.0},
    )  # fmt: skip
    try:
        with pytest.raises(UserError, match=r"models\.tiny\.ip_adapter\.style_blocks does not fit"):
            runner.submit(spec, JobControl()).result()
    finally:
        runner.close()


def test_a_missing_adapter_is_a_clear_error(
    test_env: dict[str, str], tmp_path: Path, ip_store: ImageStore
) -> None:
    settings = load_settings(env={**test_env, **adapter_env(tmp_path / "nothing-here")})
    runner = JobRunner(build_plugin_manager(settings), ModelRegistry(settings))
    spec = GenerationSpec(
        prompt="a fox", parts=(), negative_prompt="", model="tiny", width=64, height=64,
        steps=1, guidance=5.0, scheduler="euler", seeds=(1, 2, 3, 4), lane="fast",
        references=(stored(ip_store, (1, 2, 3)),), reference_scales={"image": 1.0},
    )  # fmt: skip
    try:
        with pytest.raises(UserError, match="image-prompt adapter of the model 'tiny' could not"):
            runner.submit(spec, JobControl()).result()
    finally:
        runner.close()


async def test_without_guidance_the_embeddings_have_no_negative_half(
    test_env: dict[str, str],
    adapter_dir: Path,
    ip_store: ImageStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Distilled (turbo) presets run without classifier-free guidance, and then diffusers
    expects the positive embeddings alone."""
    env = {**test_env, **SMALL, **adapter_env(adapter_dir), "IMAGINE_MODELS__TINY__GUIDANCE": "1"}
    settings = load_settings(env=env)
    manager = build_plugin_manager(settings)
    spy = PipelineSpy(monkeypatch)
    runner = JobRunner(manager, ModelRegistry(settings))
    try:
        spec = await plan_one(
            JobPlanner(settings, manager), "a fox", images=[stored(ip_store, (5, 5, 5))]
        )
        assert spec.guidance == 1
        assert run(runner, spec).shape == (4, 64, 64, 3)
    finally:
        runner.close()
    assert [tuple(t.shape) for t in spy.calls[-1][0]["ip_adapter_image_embeds"]] == [(1, 1, 32)] * 3
