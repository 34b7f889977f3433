"""Typed errors survive pickling (Ray sends a worker's errors back that way) with their
sentence and their facts, whatever their constructors take."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

import pytest

from imagine_bot.engine.errors import (
    ContentBlocked,
    LaneNotInPlan,
    LoraUnusable,
    ModelUnavailable,
    OutOfTime,
    PromptError,
    QueueFull,
    UserError,
)

ERRORS = [
    UserError("plain"),
    PromptError("bad flag", flag="--ar"),
    ModelUnavailable("model 'tiny'", "/srv/weights", "no model_index.json", "models.tiny.source"),
    LoraUnusable("ink", "/srv/ink.safetensors", "size mismatch for to_k", mismatch=True),
    QueueFull(asked=2, pending=3, limit=4, running=1),
    LaneNotInPlan(lane="relax", tier="free"),
    OutOfTime(
        lane="fast",
        multiplier=1.0,
        needed=30.0,
        left=2.0,
        budget=600.0,
        period="daily",
        resets_at=datetime(2026, 12, 7, tzinfo=UTC),
    ),
    ContentBlocked([2]),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda error: type(error).__name__)
def test_an_error_comes_back_from_pickle_with_its_sentence_and_facts(error: UserError) -> None:
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error)
    assert str(back) == str(error) and back.args == error.args
    assert vars(back) == vars(error)
