"""Fuzzing the planner with what members could type: prompts, flags, macros, weights. Nothing
but a ``UserError`` may come out, and every message the bot would send fits Discord."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagine_bot.bot import messages
from imagine_bot.bot.messages import MAX_CONTENT, fit
from imagine_bot.engine.errors import UserError
from imagine_bot.plugins.planner import JobPlanner
from tests.support.prompts import hostile_prompt


@settings(
    max_examples=150,
    deadline=None,
    # the planner is stateless between prompts: sharing it across examples is intended
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.randoms(use_true_random=False))
async def test_hostile_prompts_only_ever_raise_user_errors(
    planner: JobPlanner, rng: random.Random
) -> None:
    prompt = hostile_prompt(rng)
    try:
        specs = await planner.plan(
            prompt.text, macros=prompt.macros, preferences=prompt.preferences
        )
    except UserError as error:
        assert str(error).strip()
        assert len(fit(str(error))) <= MAX_CONTENT
        return
    for spec in specs:
        spec.model_dump_json().encode()  # the job row can store it
        line = messages.job_line(
            spec, planner.flags, planner.actions, 1234, messages.waiting(3), "fast"
        )
        assert len(line) <= MAX_CONTENT
    summary = "\n".join(["Started.", *(f"⚠️ {note}" for spec in specs for note in spec.warnings)])
    assert len(fit(summary)) <= MAX_CONTENT
