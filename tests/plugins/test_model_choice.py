"""``--model NAME`` (the /imagine model option and the /settings choice) and ``--lora`` parsing."""

from __future__ import annotations

import pytest

from imagine_bot.bot.preferences import preference_flags
from imagine_bot.config import Settings, load_settings
from imagine_bot.engine.errors import PromptError, UserError
from imagine_bot.plugins.builtin.grammar import parse_one
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.plugins.planner import JobPlanner


@pytest.fixture
def three_models(test_env: dict[str, str]) -> Settings:
    return load_settings(
        env={
            **test_env,
            "IMAGINE_MODELS__TINY__VERSIONS": '["7"]',
            "IMAGINE_MODELS__ANIME__SOURCE": "builtin:tiny",
            "IMAGINE_MODELS__ANIME__NIJI": '["6"]',
            "IMAGINE_MODELS__HOUSE__SOURCE": "builtin:tiny",
            "IMAGINE_MODELS__HOUSE__RESOLUTION": "128",
        }
    )


@pytest.fixture
def model_planner(three_models: Settings) -> JobPlanner:
    return JobPlanner(three_models, build_plugin_manager(three_models))


async def test_model_names_a_preset_that_has_no_version(model_planner: JobPlanner) -> None:
    (spec,) = await model_planner.plan("a fox --model house")
    assert spec.model == "house" and spec.width == 128
    with pytest.raises(UserError, match="no model preset 'nope'"):
        await model_planner.plan("a fox --model nope")
    with pytest.raises(PromptError, match="cannot be used together"):
        await model_planner.plan("a fox --model house --v 7")


async def test_the_settings_model_choice_works_for_every_preset(
    model_planner: JobPlanner, three_models: Settings
) -> None:
    chosen = preference_flags({"model": "house"}, three_models)
    assert "--model house" in chosen[0]
    (spec,) = await model_planner.plan("a fox", preferences=chosen)
    assert spec.model == "house"
    # a model the prompt asks for wins over the saved choice
    (spec,) = await model_planner.plan("a fox --niji 6", preferences=chosen)
    assert spec.model == "anime"


def test_lora_may_be_repeated_and_its_words_add_up(planner: JobPlanner) -> None:
    prompt = parse_one("a fox --lora ink::0.5 --lora paper clay::2", planner.flags)
    assert prompt.flags["lora"] == ("ink::0.5", "paper", "clay::2")
    with pytest.raises(PromptError, match="given twice"):
        parse_one("a fox --seed 1 --seed 2", planner.flags)
