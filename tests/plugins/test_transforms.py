"""Flags -> the frozen spec, through the built-in transform and validate plugins."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from imagine_bot.config import load_settings
from imagine_bot.engine.errors import PromptError, UserError
from imagine_bot.engine.spec import GenerationSpec, ReferenceImage, SourceImage
from imagine_bot.plugins.builtin.aspect import size_for_ratio
from imagine_bot.plugins.builtin.stylize import guidance_for
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.plugins.planner import JobPlanner


async def plan_one(planner: JobPlanner, text: str, **options: Any) -> GenerationSpec:
    (spec,) = await planner.plan(text, **options)
    return spec


async def test_the_issue_example_resolves_as_documented(planner: JobPlanner) -> None:
    spec = await plan_one(planner, "a red fox --ar 3:2 --no text, watermark --seed 42")
    assert Fraction(spec.width, spec.height) == Fraction(3, 2)
    assert "text" in spec.negative_prompt and "watermark" in spec.negative_prompt
    assert spec.seeds == (42, 43, 44, 45)
    assert spec.prompt == "a red fox"
    assert spec.warnings == ()


@pytest.mark.parametrize(
    ("ratio", "area", "expected"),
    [
        ("1:1", 1024 * 1024, (1024, 1024)),
        ("16:9", 1024 * 1024, (1344, 768)),
        ("9:16", 1024 * 1024, (768, 1344)),
        ("3:2", 1024 * 1024, (1280, 832)),
        ("3:2", 256 * 256, (384, 256)),
        ("4:1", 1024 * 1024, (2048, 512)),
        ("1:4", 512 * 512, (256, 1024)),
        ("3:2", 128 * 128, (192, 128)),
    ],
)
def test_aspect_ratio_keeps_the_pixel_area_in_multiples_of_64(
    ratio: str, area: int, expected: tuple[int, int]
) -> None:
    width, height = size_for_ratio(ratio, area)
    assert (width, height) == expected
    assert width % 64 == 0 and height % 64 == 0


@pytest.mark.parametrize(
    ("ratio", "area", "expected"),
    [("16:9", 128 * 128, (176, 96)), ("3:2", 64 * 64, (96, 64)), ("16:9", 64 * 64, (80, 48))],
)
def test_small_areas_keep_the_ratio_on_the_16_pixel_grid(
    ratio: str, area: int, expected: tuple[int, int]
) -> None:
    """A draft's 64-pixel steps would make 16:9 come out 3:2 (192x128) or 3:2 square."""
    assert size_for_ratio(ratio, area) == expected


async def test_a_16_9_draft_is_wider_than_3_2(planner: JobPlanner) -> None:
    spec = await plan_one(planner, "a fox --ar 16:9 --draft")
    assert spec.width / spec.height > 1.6 and spec.flags["ar"] == "16:9"


@given(st.integers(1, 20), st.integers(1, 20), st.sampled_from([512, 768, 1024, 1536]))
def test_aspect_ratio_is_close_at_real_model_sizes(
    width_part: int, height_part: int, side: int
) -> None:
    assume(0.25 <= width_part / height_part <= 4)
    width, height = size_for_ratio(f"{width_part}:{height_part}", side * side)
    # a 64-pixel grid can miss a ratio by up to about one step on the shorter side
    assert abs(math.log(width / height * height_part / width_part)) < 64 / side
    assert 0.7 < width * height / (side * side) < 1.4


async def test_seeds_are_random_without_seed_and_differ_between_repeats(
    planner: JobPlanner,
) -> None:
    first, second = await planner.plan("a fox --repeat 2")
    for spec in (first, second):
        assert spec.seeds == tuple(spec.seeds[0] + k for k in range(4))
    assert first.seeds != second.seeds


async def test_an_explicit_seed_with_repeat_moves_on_four_seeds_per_run(
    planner: JobPlanner,
) -> None:
    specs = await planner.plan("a fox --seed 10 --r 3")
    assert [spec.seeds[0] for spec in specs] == [10, 14, 18]
    # each grid's caption and copied prompt name its own seed
    assert [spec.flags["seed"] for spec in specs] == [10, 14, 18]


async def test_seeds_wrap_at_the_top_of_the_range(planner: JobPlanner) -> None:
    spec = await plan_one(planner, "a fox --seed 4294967294")
    assert spec.seeds == (4294967294, 4294967295, 0, 1)


async def test_permutations_times_repeats_make_the_jobs(planner: JobPlanner) -> None:
    specs = await planner.plan("a {red, blue} fox --r 2")
    assert [spec.prompt for spec in specs] == ["a red fox"] * 2 + ["a blue fox"] * 2


async def test_too_many_jobs_are_refused(planner: JobPlanner) -> None:
    with pytest.raises(PromptError, match="21 prompts x --repeat"):
        await planner.plan("a {" + ", ".join(str(n) for n in range(21)) + "} fox --r 2")


async def test_quality_multiplies_the_presets_steps(planner: JobPlanner) -> None:
    base = (await plan_one(planner, "a fox")).steps
    assert (await plan_one(planner, "a fox --q 2")).steps == base * 2
    assert (await plan_one(planner, "a fox --q .5")).steps == base // 2


def test_stylize_curve_follows_the_documented_points() -> None:
    assert guidance_for(100, 6.0) == 6.0
    assert guidance_for(0, 6.0) == 9.0
    assert guidance_for(1000, 6.0) == 3.0
    assert guidance_for(50, 6.0) == 7.5
    assert guidance_for(1000, 1.5) == 1.0  # never below 1
    assert guidance_for(500, 0.0) == 0.0  # guidance-free turbo models stay so


async def test_stylize_changes_guidance(planner: JobPlanner) -> None:
    low = await plan_one(planner, "a fox --s 0")
    high = await plan_one(planner, "a fox --s 1000")
    assert low.guidance > high.guidance


async def test_draft_is_a_cheaper_run(planner: JobPlanner) -> None:
    full = await plan_one(planner, "a fox")
    draft = await plan_one(planner, "a fox --draft")
    assert draft.steps < full.steps
    assert draft.width * draft.height < full.width * full.height


async def test_lanes(planner: JobPlanner) -> None:
    assert (await plan_one(planner, "a fox")).lane == "fast"
    assert (await plan_one(planner, "a fox --relax")).lane == "relax"
    assert (await plan_one(planner, "a fox --turbo")).lane == "turbo"


async def test_flags_without_local_meaning_are_kept_with_a_warning(planner: JobPlanner) -> None:
    spec = await plan_one(planner, "a fox --weird 100 --exp 5 --stealth")
    assert spec.flags["weird"] == 100
    assert any("--weird" in warning and "ignored" in warning for warning in spec.warnings)
    assert any("--exp" in warning for warning in spec.warnings)
    assert any("no public gallery" in warning for warning in spec.warnings)


def _two_model_planner(tmp_path_env: dict[str, str]) -> JobPlanner:
    env = {
        **tmp_path_env,
        "IMAGINE_MODELS__ANIME__SOURCE": "builtin:tiny",
        "IMAGINE_MODELS__ANIME__RESOLUTION": "128",
        "IMAGINE_MODELS__ANIME__NIJI": '["6"]',
        "IMAGINE_MODELS__ANIME__STYLE": "anime style",
        "IMAGINE_MODELS__ANIME__NEGATIVE": "photo",
        "IMAGINE_MODELS__TINY__VERSIONS": '["7"]',
    }
    settings = load_settings(env=env)
    return JobPlanner(settings, build_plugin_manager(settings))


async def test_version_and_niji_select_presets(test_env: dict[str, str]) -> None:
    planner = _two_model_planner(test_env)
    assert (await plan_one(planner, "a fox --v 7")).model == "tiny"
    assert (await plan_one(planner, "a fox --niji 6")).model == "anime"
    assert (await plan_one(planner, "a fox --niji")).model == "anime"


async def test_an_unknown_version_lists_the_available_presets(test_env: dict[str, str]) -> None:
    planner = _two_model_planner(test_env)
    with pytest.raises(PromptError) as raised:
        await planner.plan("a fox --v 5.2")
    assert "--v 5.2" in str(raised.value)
    assert "tiny (--v 7)" in str(raised.value) and "anime (--niji 6)" in str(raised.value)


async def test_style_suffix_and_default_negative_are_dropped_by_raw(
    test_env: dict[str, str],
) -> None:
    planner = _two_model_planner(test_env)
    styled = await plan_one(planner, "a fox --niji 6 --no text")
    assert styled.prompt == "a fox, anime style"
    assert styled.negative_prompt == "text, photo"
    for raw in ("--raw", "--style raw"):
        plain = await plan_one(planner, f"a fox --niji 6 --no text {raw}")
        assert plain.prompt == "a fox"
        assert plain.negative_prompt == "text"


async def test_a_forced_unknown_model_is_a_user_error(planner: JobPlanner) -> None:
    with pytest.raises(UserError, match="no model preset 'nope'"):
        await planner.plan("a fox", model="nope")


async def test_sizes_over_the_pixel_cap_are_refused(test_env: dict[str, str]) -> None:
    settings = load_settings(env={**test_env, "IMAGINE_ENGINE__MAX_PIXELS": "10000"})
    planner = JobPlanner(settings, build_plugin_manager(settings))
    with pytest.raises(UserError, match="larger than this server allows"):
        await planner.plan("a fox")


async def test_specs_round_trip_through_json(planner: JobPlanner) -> None:
    spec = await plan_one(planner, "https://x.test/a.png a::2 b --sref random::2 --no x --tile")
    assert GenerationSpec.model_validate_json(spec.model_dump_json()) == spec


async def test_preferences_apply_where_the_prompt_is_silent(planner: JobPlanner) -> None:
    spec = await plan_one(
        planner,
        "a fox --fast --s 300",
        preferences=["--ar 16:9 --relax", "--stylize 50 --no text"],
    )
    assert spec.flags["ar"] == "16:9"  # only the preferences set it
    assert spec.flags["stylize"] == 300  # the prompt wins over every preference
    assert spec.lane == "fast"  # --relax is dropped: --fast is in the same group
    assert spec.negative_prompt == "text"


async def test_later_preferences_win_over_earlier_ones(planner: JobPlanner) -> None:
    spec = await plan_one(planner, "a fox", preferences=["--ar 16:9 --turbo", "--ar 2:3 --relax"])
    assert spec.flags["ar"] == "2:3" and spec.lane == "relax"


async def test_text_in_preferences_is_refused(planner: JobPlanner) -> None:
    with pytest.raises(PromptError, match="Only --flags are allowed"):
        await planner.plan("a fox", preferences=["cinematic --ar 2:1"])


async def test_macros_expand_outside_quotes(planner: JobPlanner) -> None:
    spec = await plan_one(
        planner, 'a "--wide" fox --wide', macros={"wide": "--ar 21:9 --no people"}
    )
    assert spec.prompt == 'a "--wide" fox'
    assert spec.flags["ar"] == "21:9" and spec.negative_prompt == "people"


async def test_a_structure_image_given_twice_is_refused(planner: JobPlanner) -> None:
    attached = ReferenceImage(role="structure", source="edges.png", sha256="0" * 64)
    with pytest.raises(PromptError, match="Give the structure image once"):
        await planner.plan("a fox --structure https://example.com/a.png", images=[attached])


async def test_an_upscaled_draft_offers_no_enhance(planner: JobPlanner) -> None:
    draft = await plan_one(planner, "a fox --draft")
    assert planner.actions["enhance"].applies_to(draft)
    source = SourceImage(sha256="0" * 64)
    (upscaled,) = await planner.derive(draft, "upscale_subtle", 1, source)
    assert upscaled.flags.get("draft") and not planner.actions["enhance"].applies_to(upscaled)
