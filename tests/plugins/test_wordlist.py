"""The word list sees through spelling tricks: the 23 variants a red team tried, in /imagine
and in a Remix edit, and the look-alike ways that are documented as not caught."""

from __future__ import annotations

import pytest

from imagine_bot.config import load_settings
from imagine_bot.engine.errors import UserError
from imagine_bot.engine.spec import GenerationSpec
from imagine_bot.plugins.builtin.safety import REFUSAL
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.plugins.planner import JobPlanner
from imagine_bot.plugins.wordlist import WordList, fold

CAUGHT = [
    "a naked man",
    "NAKED",
    "naked_man",
    "naked2",
    "na-ked",
    "na.ked",
    "n a k e d",
    "n_a_k_e_d",
    "nak::1 ed",
    "n\u0430ked",  # Cyrillic a
    "n\u0430k\u0435d",  # Cyrillic a and e
    "N\u0410KED",  # Cyrillic capital A
    "na\u03baed",  # Greek kappa
    "\uff4e\uff41\uff4b\uff45\uff44",  # fullwidth
    "\uff2e\uff21\uff2b\uff25\uff24",  # fullwidth capitals
    "na\u200bked",  # zero-width space
    "na\u200dked",  # zero-width joiner
    "na\u2060ked",  # word joiner
    "na\ufeffked",  # byte-order mark
    "na\u00adked",  # soft hyphen
    "na\u0301ke\u0301d",  # combining accents
    "n\u00e1k\u00e9d",  # precomposed accents
]
NOT_CAUGHT = ["n4ked"]  # digits standing for letters: documented in the README
VARIANTS = CAUGHT + NOT_CAUGHT


def test_the_red_teams_23_variants() -> None:
    words = WordList(["naked"])
    caught = [variant for variant in VARIANTS if words.matches(variant)]
    assert len(VARIANTS) == 23
    assert caught == CAUGHT, f"{len(caught)} of {len(VARIANTS)} caught"


@pytest.mark.parametrize(
    "prompt",
    [
        "snaked through the grass",
        "nakedness",
        "a blood orange in a bath",
        "n a k e",
        "a gorgeous lighthouse",
    ],
)
def test_whole_words_only(prompt: str) -> None:
    assert not WordList(["naked", "blood bath", "gore"]).matches(prompt)


def test_a_phrase_matches_across_tricks() -> None:
    words = WordList(["Blood  Bath"])
    assert words.matches("a blood_bath")
    assert words.matches("a bloodbath")
    assert words.matches("b\u013e\u043eod   b\u0430th")


def test_fold_makes_plain_latin() -> None:
    assert fold("\uff2e\u0430\u200bk\u0065\u0301d") == "naked"


@pytest.fixture
def strict(test_env: dict[str, str]) -> JobPlanner:
    settings = load_settings(env={**test_env, "IMAGINE_SAFETY__BLOCKED_WORDS": '["naked"]'})
    return JobPlanner(settings, build_plugin_manager(settings))


@pytest.mark.parametrize("prompt", CAUGHT)
async def test_imagine_refuses_each_caught_variant(strict: JobPlanner, prompt: str) -> None:
    with pytest.raises(UserError, match=REFUSAL):
        await strict.plan(f"a portrait, {prompt}, studio light")


@pytest.mark.parametrize("prompt", CAUGHT)
async def test_a_remix_edit_refuses_each_caught_variant(strict: JobPlanner, prompt: str) -> None:
    (parent,) = await strict.plan("a portrait, studio light")
    with pytest.raises(UserError, match=REFUSAL):
        await strict.derive(parent, "reroll", 0, None, prompt=f"a portrait, {prompt}")


async def test_a_clean_remix_edit_passes(strict: JobPlanner) -> None:
    (parent,) = await strict.plan("a portrait, studio light")
    (spec,) = await strict.derive(parent, "reroll", 0, None, prompt="a snake in the grass")
    assert isinstance(spec, GenerationSpec)
