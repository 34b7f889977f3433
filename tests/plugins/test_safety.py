"""The content policy's word list, checked when a prompt is planned."""

from __future__ import annotations

import pytest

from imagine_bot.config import Settings, SettingsError, load_settings
from imagine_bot.engine.errors import UserError
from imagine_bot.plugins.builtin.safety import REFUSAL
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.plugins.planner import JobPlanner


@pytest.fixture
def strict(test_env: dict[str, str]) -> JobPlanner:
    settings = load_settings(
        env={**test_env, "IMAGINE_SAFETY__BLOCKED_WORDS": '["gore", "Blood  Bath"]'}
    )
    return JobPlanner(settings, build_plugin_manager(settings))


@pytest.mark.parametrize(
    "prompt",
    [
        "a scene full of GORE --ar 3:2",
        "a blood   bath at dusk",
        "a calm lake:: gore::2",
        "gore, a lighthouse",
    ],
)
async def test_a_blocked_word_refuses_the_prompt_without_naming_it(
    strict: JobPlanner, prompt: str
) -> None:
    with pytest.raises(UserError) as refused:
        await strict.plan(prompt)
    assert str(refused.value) == REFUSAL
    assert "gore" not in str(refused.value).lower()


@pytest.mark.parametrize(
    "prompt", ["a gorgeous lighthouse", "a blood orange in a bath", "a lake --no gore"]
)
async def test_other_words_and_negative_prompts_pass(strict: JobPlanner, prompt: str) -> None:
    (spec,) = await strict.plan(prompt)
    assert spec.prompt


async def test_no_word_list_checks_nothing(planner: JobPlanner, settings: Settings) -> None:
    assert settings.safety.blocked_words == ()
    (spec,) = await planner.plan("a scene full of gore")
    assert spec.content_policy == "block"


def test_an_empty_word_is_a_settings_error(test_env: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match="blocked_words"):
        load_settings(env={**test_env, "IMAGINE_SAFETY__BLOCKED_WORDS": '["ok", " "]'})


@pytest.mark.parametrize(
    ("channel", "age_restricted", "expected"),
    [(1, False, "spoiler"), (1, True, "spoiler"), (2, False, "block"), (2, True, "allow")],
)
def test_channel_policy_listed_channels_then_age_restriction(
    test_env: dict[str, str], channel: int, age_restricted: bool, expected: str
) -> None:
    settings = load_settings(env={**test_env, "IMAGINE_SAFETY__CHANNELS": '{ "1" = "spoiler" }'})
    assert settings.safety.channel_policy(channel, age_restricted) == expected
