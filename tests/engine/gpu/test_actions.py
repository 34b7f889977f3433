"""The actions behind the buttons: derived specs, and what the generate stage makes of them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pluggy
import pytest
import torch
from PIL import Image

from imagine_bot.config import Settings, load_settings
from imagine_bot.engine.control import JobControl
from imagine_bot.engine.errors import UserError
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.engine.gpu.upscale.compact import SRVGGNetCompact
from imagine_bot.engine.gpu.upscale.upscaler import NO_WEIGHTS_WARNING
from imagine_bot.engine.images.fetch import ImageFetcher
from imagine_bot.engine.images.outpaint import keep_alpha
from imagine_bot.engine.images.store import ImageStore
from imagine_bot.engine.result import GenerationResult
from imagine_bot.engine.spec import (
    GenerationSpec,
    ReferenceImage,
    SourceImage,
)
from imagine_bot.plugins import hookimpl
from imagine_bot.plugins.actions import Action
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.plugins.planner import JobPlanner
from imagine_bot.plugins.runner import JobRunner
from tests.engine.conftest import UNetSpy
from tests.support.tiny_adapter import adapter_env, tiny_adapter


async def plan_one(planner: JobPlanner, text: str) -> GenerationSpec:
    (spec,) = await planner.plan(text)
    return spec


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.float32)


def stored(runner: JobRunner, result: GenerationResult, index: int) -> SourceImage:
    """Image ``index`` (1-4) of ``result`` in the image store, as the bot keeps it."""
    entry = runner.models.store.put(result.images[index - 1])
    return SourceImage(sha256=entry.sha256, job_id="parent-job", index=index)


async def derive_one(
    planner: JobPlanner, parent: GenerationSpec, action: str, index: int, source: Any
) -> GenerationSpec:
    (spec,) = await planner.derive(parent, action, index, source)
    return spec


@pytest.fixture(scope="module")
def parent(settings: Settings, runner: JobRunner) -> tuple[GenerationSpec, GenerationResult]:
    """A finished 3:2 grid, made once for the module."""
    planner = JobPlanner(settings, build_plugin_manager(settings))
    text = "a lighthouse at dusk --ar 3:2 --seed 40 --chaos 10"
    spec = asyncio.run(plan_one(planner, text))
    return spec, runner.submit(spec, JobControl()).result()


def test_the_builtin_actions_and_where_their_buttons_go(planner: JobPlanner) -> None:
    actions = planner.actions
    assert [action.name for action in actions] == [
        "reroll",
        "variation",
        "vary_subtle",
        "vary_strong",
        "upscale_subtle",
        "upscale_creative",
        "zoom_out_2x",
        "zoom_out_1_5x",
        "zoom_custom",
        "make_square",
        "pan_left",
        "pan_right",
        "pan_up",
        "pan_down",
        "enhance",
        "vary_region",
        "rerun_hd",
        "fix_faces",
        "retexture",
        "edit",
    ]
    assert actions["variation"].per_image and actions["variation"].label == "V"
    assert actions["upscale_subtle"].label == "Upscale (Subtle)"


async def test_buttons_follow_the_spec(planner: JobPlanner) -> None:
    square = await plan_one(planner, "a fox")
    wide = await plan_one(planner, "a fox --ar 3:2")
    draft = await plan_one(planner, "a fox --draft")
    grid = [action.name for action in planner.actions.for_message(square, "grid")]
    assert grid == ["reroll", "variation"]
    image = {action.name for action in planner.actions.for_message(square, "image")}
    assert "make_square" not in image and "enhance" not in image and "vary_subtle" in image
    assert "make_square" in {a.name for a in planner.actions.for_message(wide, "image")}
    assert "enhance" in {a.name for a in planner.actions.for_message(draft, "image")}
    with pytest.raises(UserError, match="not available"):
        await planner.derive(square, "enhance", 1, SourceImage(sha256="0" * 64))
    with pytest.raises(UserError, match="no action 'nope'"):
        await planner.derive(square, "nope", 1, None)


async def test_reroll_is_the_same_spec_with_new_seeds(
    planner: JobPlanner, parent: tuple[GenerationSpec, GenerationResult]
) -> None:
    spec, _ = parent
    rerolled = await derive_one(planner, spec, "reroll", 0, None)
    assert rerolled.action == "reroll" and rerolled.source is None
    assert rerolled.seeds != spec.seeds and len(rerolled.seeds) == 4
    same = {"seeds": spec.seeds, "action": spec.action}
    assert rerolled.model_copy(update=same) == spec


async def test_variations_are_img2img_from_the_chosen_image_in_one_batch(
    planner: JobPlanner,
    runner: JobRunner,
    settings: Settings,
    parent: tuple[GenerationSpec, GenerationResult],
    unet_spy: UNetSpy,
) -> None:
    spec, result = parent
    source = stored(runner, result, 3)
    variation = await derive_one(planner, spec, "variation", 3, source)
    assert variation.kind == "img2img" and variation.source == source
    assert variation.strength == settings.actions.vary_strong_strength
    assert (variation.width, variation.height) == (spec.width, spec.height)
    assert variation.prompt == spec.prompt and variation.chaos == spec.chaos
    assert variation.seeds != spec.seeds and len(variation.seeds) == 4
    subtle = await derive_one(planner, spec, "vary_subtle", 3, source)
    assert subtle.strength == settings.actions.vary_subtle_strength == 0.35
    strong = await derive_one(planner, spec, "vary_strong", 3, source)
    assert strong.strength == 0.7

    images = runner.submit(variation, JobControl()).result().images
    assert [image.size for image in images] == [(spec.width, spec.height)] * 4
    # four variants in one batched call: every UNet call carries all four (x2 for guidance)
    assert unet_spy.calls and all(call.latents.shape[0] == 8 for call in unet_spy.calls)
    # img2img runs the last `strength` of the schedule only
    assert len(unet_spy.calls) == int(variation.steps * variation.strength)
    unet_spy.calls.clear()
    subtle_images = runner.submit(subtle, JobControl()).result().images
    original = pixels(result.images[2])
    assert len(unet_spy.calls) == int(subtle.steps * subtle.strength)
    # the tiny VAE does not reconstruct, so compare how far each strength moves the image
    assert np.mean([np.abs(pixels(i) - original).mean() for i in subtle_images]) < np.mean(
        [np.abs(pixels(i) - original).mean() for i in images]
    )


async def test_variants_share_the_resident_weights(runner: JobRunner) -> None:
    def variants() -> tuple[Any, Any, Any]:
        models = runner.models
        return (
            models.pipeline("tiny"),
            models.variant("tiny", "img2img"),
            models.variant("tiny", "inpaint"),
        )

    base, img2img, inpaint = runner._worker.submit(variants).result()
    assert type(img2img).__name__ == "StableDiffusionImg2ImgPipeline"
    assert type(inpaint).__name__ == "StableDiffusionInpaintPipeline"
    assert img2img.unet is base.unet is inpaint.unet and inpaint.vae is base.vae
    assert inpaint.unet.config.in_channels == 4  # not an inpainting model: diffusers blends
    assert runner._worker.submit(lambda: runner.models.variant("tiny", "inpaint")).result() is (
        inpaint
    )


async def test_zoom_out_keeps_the_original_in_the_centre(
    planner: JobPlanner,
    runner: JobRunner,
    parent: tuple[GenerationSpec, GenerationResult],
) -> None:
    spec, result = parent
    source = stored(runner, result, 1)
    zoom = await derive_one(planner, spec, "zoom_out_2x", 1, source)
    assert zoom.kind == "inpaint" and zoom.strength == 1.0
    assert zoom.width % 64 == 0 and zoom.height % 64 == 0
    assert zoom.width * zoom.height <= spec.width * spec.height  # zoom keeps the size
    place = zoom.placement
    assert place is not None
    # the original fills the middle half of each side
    assert abs(place.width - zoom.width / 2) <= 1 and abs(place.height - zoom.height / 2) <= 1
    assert abs(place.x - zoom.width / 4) <= 1 and abs(place.y - zoom.height / 4) <= 1

    images = runner.submit(zoom, JobControl()).result().images
    expected = pixels(
        result.images[0].resize((place.width, place.height), Image.Resampling.LANCZOS)
    )
    band = place.feather
    assert band > 0
    for image in images:
        assert image.size == (zoom.width, zoom.height)
        box = pixels(image)[place.y : place.y + place.height, place.x : place.x + place.width]
        assert np.array_equal(box[band:-band, band:-band], expected[band:-band, band:-band])
        assert np.abs(box - expected).max() > 0  # the feather band blends
        # the border was generated, not left as the grey fill
        assert pixels(image)[:, : place.x].std() > 5
    assert not np.array_equal(pixels(images[0]), pixels(images[1]))
    one_and_half = await derive_one(planner, spec, "zoom_out_1_5x", 1, source)
    assert one_and_half.placement is not None
    assert abs(one_and_half.placement.width * 1.5 - one_and_half.width) <= 2


async def test_pan_right_extends_the_right_side(
    planner: JobPlanner,
    runner: JobRunner,
    settings: Settings,
    parent: tuple[GenerationSpec, GenerationResult],
) -> None:
    spec, result = parent
    square = await plan_one(planner, "a lighthouse --seed 3")
    square_result = runner.submit(square, JobControl()).result()
    source = stored(runner, square_result, 2)
    pan = await derive_one(planner, square, "pan_right", 2, source)
    assert (pan.width, pan.height) == (192, 128)  # half as wide again, multiples of 64
    assert pan.width * pan.height <= settings.models["tiny"].pixel_area * 1.5
    assert pan.placement is not None
    assert (pan.placement.x, pan.placement.y) == (0, 0)
    assert (pan.placement.width, pan.placement.height) == (128, 128)
    images = runner.submit(pan, JobControl()).result().images
    original = pixels(square_result.images[1])
    band = pan.placement.feather
    for image in images:
        assert image.size == (192, 128)
        kept = pixels(image)[:, :128]
        # left, top and bottom edges sit on the canvas border: kept exactly to the edge
        assert np.array_equal(kept[:, : 128 - band], original[:, : 128 - band])
        assert pixels(image)[:, 128:].std() > 5
    for direction, size in (("left", (192, 128)), ("up", (128, 192)), ("down", (128, 192))):
        panned = await derive_one(planner, square, f"pan_{direction}", 2, source)
        assert (panned.width, panned.height) == size
    left = await derive_one(planner, square, "pan_left", 2, source)
    assert left.placement is not None and left.placement.x == 64
    # a wide image panned again is scaled down to stay within the budget
    wide = await derive_one(planner, spec, "pan_right", 1, stored(runner, result, 1))
    assert wide.width * wide.height <= settings.models["tiny"].pixel_area * 1.5
    assert wide.width % 16 == 0 and wide.height % 16 == 0  # small canvases: the 16 grid


async def test_make_square_centres_a_wide_image(
    planner: JobPlanner, runner: JobRunner, parent: tuple[GenerationSpec, GenerationResult]
) -> None:
    spec, result = parent
    square = await derive_one(planner, spec, "make_square", 4, stored(runner, result, 4))
    assert square.width == square.height and square.width % 16 == 0
    assert square.placement is not None
    assert square.placement.x == 0 and square.placement.y > 0
    images = runner.submit(square, JobControl()).result().images
    assert {image.size for image in images} == {(square.width, square.height)}


def test_the_feather_is_hard_on_canvas_borders() -> None:
    from imagine_bot.engine.spec import Placement

    alpha = keep_alpha(Placement(x=0, y=0, width=64, height=64, feather=8), 128, 64)
    assert (alpha[:, :56] == 1).all()  # left, top, bottom: on the border, no ramp
    assert (np.diff(alpha[0, 55:64]) < 0).all() and alpha[0, 63] > 0 and alpha[0, 64] == 0


async def test_upscale_subtle_is_one_image_twice_the_size(
    planner: JobPlanner, runner: JobRunner, parent: tuple[GenerationSpec, GenerationResult]
) -> None:
    spec, result = parent
    upscale = await derive_one(planner, spec, "upscale_subtle", 2, stored(runner, result, 2))
    assert upscale.kind == "upscale" and upscale.upscale == 2 and upscale.strength is None
    assert upscale.seeds == (spec.seeds[1],)
    assert (upscale.width, upscale.height) == (spec.width * 2, spec.height * 2)
    done = runner.submit(upscale, JobControl()).result()
    assert [image.size for image in done.images] == [(spec.width * 2, spec.height * 2)]
    assert done.grid is None  # one image: no grid
    # no Real-ESRGAN weights are configured in the tests: the upscaler's fallback, said so
    assert done.warnings == [NO_WEIGHTS_WARNING]
    expected = result.images[1].resize(done.images[0].size, Image.Resampling.LANCZOS)
    assert np.array_equal(pixels(done.images[0]), pixels(expected))


async def test_upscale_with_real_esrgan_weights(
    planner: JobPlanner,
    parent: tuple[GenerationSpec, GenerationResult],
    test_env: dict[str, str],
    tmp_path: Path,
) -> None:
    """The action runs the configured network (random weights, saved like official ones)."""
    spec, result = parent
    weights = tmp_path / "compact.pth"
    torch.manual_seed(0)
    torch.save(SRVGGNetCompact(num_conv=2, upscale=4).state_dict(), weights)
    settings = load_settings(
        env={**test_env, "IMAGINE_UPSCALE__GENERAL_X4V3_WEIGHTS": str(weights)}
    )
    runner = JobRunner(build_plugin_manager(settings), ModelRegistry(settings))
    try:
        source = stored(runner, result, 2)
        upscale = await derive_one(planner, spec, "upscale_subtle", 2, source)
        done = runner.submit(upscale, JobControl()).result()
    finally:
        runner.close()
    (image,) = done.images
    assert image.size == (spec.width * 2, spec.height * 2) and done.warnings == []
    lanczos = result.images[1].resize(image.size, Image.Resampling.LANCZOS)
    assert not np.array_equal(pixels(image), pixels(lanczos))


async def test_an_upscale_past_the_upscalers_limit_is_refused_before_queueing(
    test_env: dict[str, str], parent: tuple[GenerationSpec, GenerationResult]
) -> None:
    settings = load_settings(env={**test_env, "IMAGINE_UPSCALE__MAX_PIXELS": "40000"})
    planner = JobPlanner(settings, build_plugin_manager(settings))
    spec, _ = parent
    with pytest.raises(UserError, match="larger than this server allows"):
        await planner.derive(spec, "upscale_subtle", 1, SourceImage(sha256="0" * 64))


async def test_upscale_creative_repaints_at_the_new_size(
    planner: JobPlanner,
    runner: JobRunner,
    settings: Settings,
    parent: tuple[GenerationSpec, GenerationResult],
    unet_spy: UNetSpy,
) -> None:
    spec, result = parent
    creative = await derive_one(planner, spec, "upscale_creative", 2, stored(runner, result, 2))
    assert creative.kind == "upscale" and creative.strength == settings.actions.creative_strength
    (image,) = runner.submit(creative, JobControl()).result().images
    assert image.size == (spec.width * 2, spec.height * 2)
    assert unet_spy.calls  # the img2img pass ran, on latents of the upscaled size
    assert tuple(unet_spy.calls[0].latents.shape[-2:]) == (spec.height // 4, spec.width // 4)


async def test_enhance_rerenders_a_draft_at_full_quality_with_its_seed(
    planner: JobPlanner, runner: JobRunner, settings: Settings
) -> None:
    draft = await plan_one(planner, "a castle --draft --seed 70 --ar 3:2")
    full = await plan_one(planner, "a castle --seed 70 --ar 3:2")
    result = runner.submit(draft, JobControl()).result()
    enhanced = await derive_one(planner, draft, "enhance", 2, stored(runner, result, 2))
    assert "draft" not in enhanced.flags and enhanced.action == "enhance"
    assert (enhanced.width, enhanced.height, enhanced.steps) == (
        full.width,
        full.height,
        full.steps,
    )
    assert enhanced.seeds == (71,)
    assert enhanced.kind == "img2img" and enhanced.strength == settings.actions.enhance_strength
    (image,) = runner.submit(enhanced, JobControl()).result().images
    assert image.size == (full.width, full.height)


async def test_derived_specs_round_trip_through_json(
    planner: JobPlanner, runner: JobRunner, parent: tuple[GenerationSpec, GenerationResult]
) -> None:
    spec, result = parent
    for action in ("reroll", "variation", "zoom_out_2x", "upscale_creative", "pan_up"):
        derived = await derive_one(planner, spec, action, 1, stored(runner, result, 1))
        assert GenerationSpec.model_validate_json(derived.model_dump_json()) == derived


async def test_an_action_needs_its_image(
    planner: JobPlanner, parent: tuple[GenerationSpec, GenerationResult]
) -> None:
    spec, _ = parent
    with pytest.raises(UserError, match="needs the image"):
        await planner.derive(spec, "vary_subtle", 1, None)
    with pytest.raises(UserError, match="not #5"):
        await planner.derive(spec, "vary_subtle", 5, SourceImage(sha256="0" * 64))


class RemixPlugin:
    @hookimpl
    def imagine_register_actions(self, register: Callable[[Action], None]) -> None:
        def prepare(draft: Any, request: Any) -> None:
            draft.strength = 0.5
            draft.seed = request.seed

        register(Action("remix", "Remix", "image", prepare))


async def test_a_plugin_adds_an_action(test_env: dict[str, str]) -> None:
    settings = load_settings(env=test_env)
    manager: pluggy.PluginManager = build_plugin_manager(settings)
    manager.register(RemixPlugin())
    planner = JobPlanner(settings, manager)
    parent = await plan_one(planner, "a fox --seed 5")
    remix = await derive_one(planner, parent, "remix", 2, SourceImage(sha256="a" * 64))
    assert remix.action == "remix" and remix.strength == 0.5 and remix.seeds[0] == 6
    assert "remix" in {action.name for action in planner.actions.for_message(parent, "image")}


class NoNetwork(ImageFetcher):
    async def fetch(self, url: str) -> Any:
        raise AssertionError(f"nothing should be fetched, but {url} was")


async def test_actions_keep_the_parents_stored_image_prompts(
    test_env: dict[str, str], settings: Settings
) -> None:
    """A button press never fetches again: the derived job uses the parent's stored images,
    through the IP-Adapter on the img2img variant's (shared) UNet."""
    ip_settings = load_settings(
        env={**test_env, **adapter_env(tiny_adapter(settings.paths.models))}
    )
    store = ImageStore(ip_settings.paths.store)
    style = Image.new("RGB", (48, 48), (200, 40, 40))
    reference = ReferenceImage(role="style", source="red.png", sha256=store.put(style).sha256)
    manager = build_plugin_manager(ip_settings)
    planner = JobPlanner(ip_settings, manager, fetcher=NoNetwork(ip_settings.fetch, store))
    draft = await plan_one(planner, "a fox --draft --seed 3")
    parent = (await planner.plan("a fox --draft --seed 3", images=[reference]))[0]
    assert parent.references == (reference,) and parent.reference_scales
    runner = JobRunner(manager, ModelRegistry(ip_settings))
    try:
        result = runner.submit(draft, JobControl()).result()
        source = stored(runner, result, 1)
        for action in ("variation", "enhance", "zoom_out_2x"):
            derived = await derive_one(planner, parent, action, 1, source)
            assert derived.references == parent.references
            assert derived.reference_scales == parent.reference_scales
        variation = await derive_one(planner, parent, "variation", 1, source)
        images = runner.submit(variation, JobControl()).result().images
        assert len(images) == 4
    finally:
        runner.close()


async def test_a_tile_stays_a_tile_when_varied_but_not_when_outpainted(
    planner: JobPlanner,
) -> None:
    tile = await plan_one(planner, "a mosaic --tile --seed 1")
    source = SourceImage(sha256="b" * 64)
    assert (await derive_one(planner, tile, "variation", 1, source)).tile is True
    for action in ("zoom_out_2x", "pan_left", "make_square"):
        if planner.actions[action].applies_to(tile):
            assert (await derive_one(planner, tile, action, 1, source)).tile is False
