"""The Midjourney prompt grammar: table-driven cases, then properties over any input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagine_bot.engine.errors import PromptError
from imagine_bot.engine.spec import Prompt, PromptPart, WeightedRef
from imagine_bot.plugins.builtin.grammar import expand_permutations, imagine_parse
from imagine_bot.plugins.builtin.midjourney_flags import MIDJOURNEY_FLAGS
from imagine_bot.plugins.flags import FlagRegistry
from imagine_bot.plugins.syntax import MAX_EXPANSIONS


@pytest.fixture(scope="module")
def flags() -> FlagRegistry:
    registry = FlagRegistry()
    for flag in MIDJOURNEY_FLAGS:
        registry.register(flag)
    return registry


def parse(text: str, flags: FlagRegistry) -> list[Prompt]:
    return imagine_parse(text=text, flags=flags)


def single(text: str, flags: FlagRegistry) -> Prompt:
    (prompt,) = parse(text, flags)
    return prompt


@pytest.mark.parametrize(
    ("text", "expected_flags"),
    [
        ("a fox --ar 16:9", {"ar": "16:9"}),
        ("a fox --aspect 2:3", {"ar": "2:3"}),
        ("a fox --AR 16:9", {"ar": "16:9"}),
        ("a fox —ar 16:9", {"ar": "16:9"}),
        ("a fox --chaos 50 --c 10".replace(" --c 10", ""), {"chaos": 50.0}),
        ("a fox --c 10", {"chaos": 10.0}),
        ("a fox --q 2", {"quality": 2.0}),
        ("a fox --quality .5", {"quality": 0.5}),
        ("a fox --seed 42", {"seed": 42}),
        ("a fox --seed 4294967295", {"seed": 4294967295}),
        ("a fox --stop 50", {"stop": 50}),
        ("a fox --s 750", {"stylize": 750}),
        ("a fox --stylize 0", {"stylize": 0}),
        ("a fox --tile", {"tile": True}),
        ("a fox --w 1000", {"weird": 1000}),
        ("a fox --iw 2.5", {"iw": 2.5}),
        ("a fox --sw 300 --sv 4", {"sw": 300, "sv": 4}),
        ("a fox --cw 50 --ow 400", {"cw": 50, "ow": 400}),
        ("a fox --draft", {"draft": True}),
        ("a fox --r 3", {"repeat": 3}),
        ("a fox --repeat 2", {"repeat": 2}),
        ("a fox --style raw", {"style": "raw"}),
        ("a fox --style RAW", {"style": "raw"}),
        ("a fox --raw", {"raw": True}),
        ("a fox --niji", {"niji": True}),
        ("a fox --niji 6", {"niji": "6"}),
        ("a fox --v 6.1", {"v": "6.1"}),
        ("a fox --version 7", {"v": "7"}),
        ("a fox --relax", {"relax": True}),
        ("a fox --turbo", {"turbo": True}),
        ("a fox --fast", {"fast": True}),
        ("a fox --p", {"p": True}),
        ("a fox --p abc123 def456", {"p": ("abc123", "def456")}),
        ("a fox --exp 25", {"exp": 25}),
        ("a fox --stealth", {"stealth": True}),
        ("a fox --public", {"public": True}),
        ("a fox --no text, watermark", {"no": ("text", "watermark")}),
        ("a fox --no text --no people, text", {"no": ("text", "people")}),
        ("a fox --seed 1 --tile --ar 1:2", {"seed": 1, "tile": True, "ar": "1:2"}),
    ],
)
def test_flags_parse_to_typed_values(
    text: str, expected_flags: dict[str, object], flags: FlagRegistry
) -> None:
    assert single(text, flags).flags == expected_flags


@pytest.mark.parametrize(
    ("text", "refs"),
    [
        ("a --sref https://x.test/a.png", [("https://x.test/a.png", 1.0)]),
        (
            "a --sref https://x.test/a.png::2 123456",
            [("https://x.test/a.png", 2.0), ("123456", 1.0)],
        ),
        ("a --sref random", [("random", 1.0)]),
        (
            "a --sref 42::-0.5 https://x.test/b.png::.5",
            [("42", -0.5), ("https://x.test/b.png", 0.5)],
        ),
    ],
)
def test_style_references_keep_their_weights(
    text: str, refs: list[tuple[str, float]], flags: FlagRegistry
) -> None:
    value = single(text, flags).flags["sref"]
    assert value == tuple(WeightedRef(ref=ref, weight=weight) for ref, weight in refs)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a red fox", [("a red fox", 1.0)]),
        ("hot dog::2 animal", [("hot dog", 2.0), ("animal", 1.0)]),
        ("hot dog:: animal::-0.5", [("hot dog", 1.0), ("animal", -0.5)]),
        ("space::1.5 ship::.5 --ar 2:1", [("space", 1.5), ("ship", 0.5)]),
        ("  lots   of\tspace  ", [("lots of space", 1.0)]),
    ],
)
def test_multi_prompts_split_at_double_colons(
    text: str, parts: list[tuple[str, float]], flags: FlagRegistry
) -> None:
    expected = tuple(PromptPart(text=part, weight=weight) for part, weight in parts)
    assert single(text, flags).parts == expected


def test_leading_urls_are_image_prompts(flags: FlagRegistry) -> None:
    prompt = single("https://cdn.test/a.png <https://cdn.test/b.jpg> a castle --iw 2", flags)
    assert prompt.image_prompts == ("https://cdn.test/a.png", "https://cdn.test/b.jpg")
    assert prompt.text == "a castle"


def test_a_url_after_the_text_stays_text(flags: FlagRegistry) -> None:
    prompt = single("a castle like https://cdn.test/a.png", flags)
    assert prompt.image_prompts == ()
    assert prompt.text == "a castle like https://cdn.test/a.png"


def test_quoted_text_keeps_double_dashes(flags: FlagRegistry) -> None:
    prompt = single('a sign that says "--ar is -- fine" --ar 2:1', flags)
    assert prompt.text == 'a sign that says "--ar is -- fine"'
    assert prompt.flags == {"ar": "2:1"}


def test_an_unmatched_quote_is_plain_text(flags: FlagRegistry) -> None:
    prompt = single('a 5" figure --tile', flags)
    assert prompt.text == 'a 5" figure'
    assert prompt.flags == {"tile": True}


def test_em_dash_inside_quotes_is_kept(flags: FlagRegistry) -> None:
    assert single('"wait—what" cat', flags).text == '"wait—what" cat'


@pytest.mark.parametrize(
    ("text", "expansions"),
    [
        ("a {red, blue} bird", ["a red bird", "a blue bird"]),
        ("{a, b} {c, d}", ["a c", "a d", "b c", "b d"]),
        (
            "a {red, {dark, light} blue} bird",
            ["a red bird", "a dark blue bird", "a light blue bird"],
        ),
        ("a {big\\, red, small} dog", ["a big, red dog", "a small dog"]),
        ("tea\\, please", ["tea, please"]),
        ("x --ar {1:1, 2:1}", ["x --ar 1:1", "x --ar 2:1"]),
        ("a {, tiny} cat", ["a  cat", "a tiny cat"]),
    ],
)
def test_permutations_expand_in_reading_order(text: str, expansions: list[str]) -> None:
    assert expand_permutations(text) == expansions


def test_permutations_can_vary_flags(flags: FlagRegistry) -> None:
    prompts = parse("a fox --ar {1:1, 16:9}", flags)
    assert [prompt.flags["ar"] for prompt in prompts] == ["1:1", "16:9"]


def test_forty_permutations_are_allowed(flags: FlagRegistry) -> None:
    options = ", ".join(str(n) for n in range(MAX_EXPANSIONS))
    assert len(parse(f"cat {{{options}}}", flags)) == MAX_EXPANSIONS


@pytest.mark.parametrize(
    ("text", "message_parts"),
    [
        ("a fox --arr 16:9", ["--arr", "Did you mean --ar?"]),
        ("a fox --stylise 100", ["--stylise", "Did you mean --stylize?"]),
        ("a fox --bogus", ["Unknown flag --bogus"]),
        ("a fox --seed -1", ["--seed", "0 to 4294967295"]),
        ("a fox --seed 4294967296", ["--seed", "out of range"]),
        ("a fox --seed 1.5", ["--seed", "whole number"]),
        ("a fox --seed", ["--seed needs a value"]),
        ("a fox --ar", ["--ar needs a value"]),
        ("a fox --ar 16x9", ["--ar", "W:H", "16:9"]),
        ("a fox --ar 0:1", ["--ar", "W:H"]),
        ("a fox --ar 5:1", ["--ar", "1:4 and 4:1", "out of range"]),
        ("a fox --ar 1:5", ["--ar", "out of range"]),
        ("a fox --chaos 101", ["--chaos", "0 to 100"]),
        ("a fox --chaos lots", ["--chaos", "'lots'"]),
        ("a fox --chaos nan", ["--chaos"]),
        ("a fox --q 3", ["--quality", ".25, .5, 1, 2, 4"]),
        ("a fox --stop 5", ["--stop", "10 to 100"]),
        ("a fox --stylize 1001", ["--stylize", "0 to 1000"]),
        ("a fox --repeat 41", ["--repeat", "1 to 40"]),
        ("a fox --style fancy", ["--style", "raw"]),
        ("a fox --tile yes", ["--tile takes no value"]),
        ("a fox --ar 16:9 in a forest", ["--ar", "before the flags"]),
        ("a fox --fast --relax", ["--fast", "--relax", "together"]),
        ("a fox --v 7 --niji", ["--v", "--niji", "together"]),
        ("a fox --seed 1 --seed 2", ["--seed is given twice"]),
        ("a {red, blue fox", ["Unbalanced braces"]),
        ("a red} fox", ["Unbalanced braces"]),
        ("", ["empty"]),
        ("   --ar 16:9", ["empty"]),
        ("{, } --tile", ["empty"]),
        ("a::-1", ["add up to more than 0"]),
        ("a::1 b::-1", ["add up to more than 0"]),
        ("{a,b,c,d,e,f,g} {a,b,c,d,e,f,g}", ["more than 40"]),
    ],
)
def test_bad_input_is_a_prompt_error_that_says_why(
    text: str, message_parts: list[str], flags: FlagRegistry
) -> None:
    with pytest.raises(PromptError) as raised:
        parse(text, flags)
    for part in message_parts:
        assert part in str(raised.value)


def test_errors_name_the_flag(flags: FlagRegistry) -> None:
    with pytest.raises(PromptError) as raised:
        parse("a fox --c 500", flags)
    assert raised.value.flag == "chaos"


_PROMPT_ALPHABET = st.sampled_from(
    [
        *"abc XYZ019:,.-—{}\\\"'@#",
        "--",
        "::",
        "--ar ",
        "--no ",
        "--seed ",
        "{a, b}",
        "https://x.test/i.png ",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PROMPT_ALPHABET, max_size=30).map("".join))
def test_prompt_like_text_only_ever_raises_prompt_error(text: str) -> None:
    registry = FlagRegistry()
    for flag in MIDJOURNEY_FLAGS:
        registry.register(flag)
    try:
        prompts = parse(text, registry)
    except PromptError as error:
        assert str(error)
    else:
        assert 1 <= len(prompts) <= MAX_EXPANSIONS
        assert all(prompt.parts or prompt.image_prompts for prompt in prompts)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_only_ever_raises_prompt_error(text: str) -> None:
    registry = FlagRegistry()
    for flag in MIDJOURNEY_FLAGS:
        registry.register(flag)
    try:
        parse(text, registry)
    except PromptError as error:
        assert str(error)


@pytest.mark.parametrize(
    "text",
    [
        "a fox --ar 3:2 --no text, watermark --seed 42 --tile",
        "a fox --sref https://x.test/a.png::2 random --sw 300 --q 0.5",
        "a fox --niji 6 --style raw --relax --repeat 2 --p abc def",
    ],
)
def test_formatted_flags_parse_back_to_the_same_values(text: str, flags: FlagRegistry) -> None:
    prompt = single(text, flags)
    again = single("a fox " + flags.format(prompt.flags), flags)
    assert again.flags == prompt.flags
