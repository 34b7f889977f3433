"""Remix and Custom Zoom: a button's job with the member's edited prompt."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from PIL import Image

from imagine_bot.config import Settings, load_settings
from imagine_bot.engine.control import JobControl
from imagine_bot.engine.errors import PromptError
from imagine_bot.engine.result import GenerationResult
from imagine_bot.engine.spec import GenerationSpec, SourceImage
from imagine_bot.plugins.builtin.actions import diffusion_size
from imagine_bot.plugins.builtin.aspect import size_for_ratio
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.plugins.planner import JobPlanner
from imagine_bot.plugins.runner import JobRunner
from tests.engine.conftest import FetcherFactory
from tests.support.https_server import Server
from tests.support.tiny_adapter import adapter_env, tiny_adapter

SOURCE = SourceImage(sha256="0" * 64, job_id="parent-job", index=2)


async def derive_one(
    planner: JobPlanner, parent: GenerationSpec, action: str, prompt: str | None = None
) -> GenerationSpec:
    (spec,) = await planner.derive(
        parent, action, 0 if action == "reroll" else 2, SOURCE, prompt=prompt
    )
    return spec


@pytest.fixture(scope="module")
def parent(settings: Settings) -> GenerationSpec:
    planner = JobPlanner(settings, build_plugin_manager(settings))
    (spec,) = asyncio.run(planner.plan("a red fox in snow --ar 3:2 --seed 7 --relax --s 250"))
    return spec


async def test_the_edited_prompt_reaches_the_derived_spec(
    planner: JobPlanner, parent: GenerationSpec, settings: Settings
) -> None:
    plain = await derive_one(planner, parent, "variation")
    edited = await derive_one(
        planner, parent, "variation", "a blue fox --ar 3:2 --no trees --s 250"
    )
    assert plain.prompt == "a red fox in snow" and edited.prompt == "a blue fox"
    assert edited.negative_prompt == "trees" and edited.flags["no"] == ("trees",)
    # the action's own fields are as without the edit
    assert edited.action == "variation" and edited.source == SOURCE
    assert edited.strength == plain.strength == settings.actions.vary_strong_strength
    assert (edited.width, edited.height) == diffusion_size(parent.width, parent.height, 10**9)
    assert edited.guidance == parent.guidance  # --s 250 kept
    assert edited.lane == "fast"  # --relax was edited out


async def test_a_variation_with_an_edited_ratio_is_reframed_to_it(
    planner: JobPlanner, parent: GenerationSpec, settings: Settings
) -> None:
    tall = await derive_one(planner, parent, "variation", "a red fox in snow --ar 2:3")
    preset = settings.models[parent.model]
    assert (tall.width, tall.height) == size_for_ratio("2:3", preset.pixel_area)
    assert tall.flags["ar"] == "2:3" and not tall.warnings


async def test_an_edited_reroll_follows_the_edited_flags(
    planner: JobPlanner, parent: GenerationSpec
) -> None:
    kept = await derive_one(planner, parent, "reroll", "a red fox in snow --ar 3:2 --relax --s 250")
    assert (kept.width, kept.height, kept.lane) == (parent.width, parent.height, "relax")
    assert kept.guidance == parent.guidance and kept.steps == parent.steps
    wide = await derive_one(planner, parent, "reroll", "a red fox in snow --ar 2:1")
    assert wide.width == 2 * wide.height and wide.seeds != parent.seeds


async def test_macros_expand_in_the_edited_prompt(
    planner: JobPlanner, parent: GenerationSpec
) -> None:
    (spec,) = await planner.derive(
        parent, "reroll", 0, None, prompt="a fox --wide", macros={"wide": "--ar 2:1"}
    )
    assert spec.flags["ar"] == "2:1"


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ("a fox --arr 2:1", "Did you mean --ar?"),
        ("a {red, blue} fox", "makes 2 prompts; a button makes one job"),
        ("--ar 2:1", "The prompt is empty"),
    ],
)
async def test_an_invalid_edited_prompt_is_one_readable_line(
    planner: JobPlanner, parent: GenerationSpec, prompt: str, message: str
) -> None:
    with pytest.raises(PromptError, match=message) as raised:
        await derive_one(planner, parent, "vary_strong", prompt)
    assert "\n" not in str(raised.value)


async def test_custom_zoom_1_5_is_planned_as_zoom_out_1_5x(
    planner: JobPlanner, parent: GenerationSpec
) -> None:
    fixed = await derive_one(planner, parent, "zoom_out_1_5x")
    custom = await derive_one(planner, parent, "zoom_custom", "a red fox in snow --zoom 1.5")
    assert (custom.width, custom.height, custom.placement) == (
        fixed.width,
        fixed.height,
        fixed.placement,
    )
    assert custom.kind == "inpaint" and "zoom" not in custom.flags and custom.warnings == ()
    wider = await derive_one(planner, parent, "zoom_custom", "a red fox in snow --zoom 2")
    assert wider.placement == (await derive_one(planner, parent, "zoom_out_2x")).placement


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ("a red fox", "Custom Zoom needs --zoom"),
        ("a red fox --zoom 2.5", "--zoom"),
        ("a red fox --zoom 0.5", "--zoom"),
    ],
)
async def test_custom_zoom_needs_a_factor_from_1_to_2(
    planner: JobPlanner, parent: GenerationSpec, prompt: str, message: str
) -> None:
    with pytest.raises(PromptError, match=message):
        await derive_one(planner, parent, "zoom_custom", prompt)


async def test_zoom_is_ignored_with_a_warning_outside_custom_zoom(planner: JobPlanner) -> None:
    (spec,) = await planner.plan("a fox --zoom 1.5")
    assert spec.warnings == (
        "--zoom only works in Custom Zoom (the button under an image), so it was ignored.",
    )


async def test_custom_zoom_places_the_image_exactly_as_zoom_out(
    planner: JobPlanner, runner: JobRunner, settings: Settings
) -> None:
    (grid,) = await planner.plan("a lighthouse --seed 3")
    result: GenerationResult = runner.submit(grid, JobControl()).result()
    entry = runner.models.store.put(result.images[0])
    source = SourceImage(sha256=entry.sha256, job_id="parent-job", index=1)

    async def zoomed(action: str, prompt: str | None) -> Image.Image:
        (spec,) = await planner.derive(grid, action, 1, source, prompt=prompt)
        spec = spec.model_copy(update={"seeds": spec.seeds[:1]})  # one image is enough
        return runner.submit(spec, JobControl()).result().images[0]

    fixed = np.asarray(await zoomed("zoom_out_1_5x", None), dtype=np.int16)
    custom = np.asarray(await zoomed("zoom_custom", "a lighthouse --zoom 1.5"), dtype=np.int16)
    (spec,) = await planner.derive(grid, "zoom_out_1_5x", 1, source)
    place, band = spec.placement, spec.placement.feather if spec.placement else 0
    assert place is not None and custom.shape == fixed.shape
    kept = np.s_[place.y + band : place.y + place.height - band,
                 place.x + band : place.x + place.width - band]  # fmt: skip
    assert np.array_equal(custom[kept], fixed[kept])  # the source's pixels, in the same place
    expected = result.images[0].resize((place.width, place.height), Image.Resampling.LANCZOS)
    inner = np.asarray(expected, dtype=np.int16)[band:-band, band:-band]
    assert np.array_equal(custom[kept], inner)


async def test_an_image_the_edit_links_to_is_fetched(
    test_env: dict[str, str],
    settings: Settings,
    make_fetcher: FetcherFactory,
    server: Server,
    parent: GenerationSpec,
) -> None:
    with_adapter = load_settings(
        env={**test_env, **adapter_env(tiny_adapter(settings.paths.models))}
    )
    planner = JobPlanner(with_adapter, build_plugin_manager(with_adapter), fetcher=make_fetcher())
    url = server.url("/red.png")
    (spec,) = await planner.derive(parent, "reroll", 0, None, prompt=f"{url} a red fox")
    (ref,) = spec.references
    assert (ref.source, ref.role) == (url, "image") and ref.sha256 is not None
    assert server.hits == {"/red.png": 1}
