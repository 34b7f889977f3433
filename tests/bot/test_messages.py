"""The bot's wording of the engine's errors: the facts in the member's terms (flags)."""

from __future__ import annotations

import pytest

from imagine_bot.bot.messages import NO_WORKER, PAUSED, submitted, user_error
from imagine_bot.engine.errors import LaneNotInPlan, QueueFull
from imagine_bot.engine.spec import Lane


def test_a_refused_lane_is_worded_with_the_flag_to_use() -> None:
    error = LaneNotInPlan(lane=Lane.RELAX, tier="everyone")
    assert str(error) == "Relax mode is not part of your plan (everyone)."
    assert user_error(error) == (
        "Relax mode is not part of your plan (everyone); use --fast instead."
    )


def test_other_errors_keep_the_engines_sentence() -> None:
    error = QueueFull(asked=1, pending=3, limit=3, running=3)
    assert user_error(error) == str(error)
    assert str(error).startswith("You already have 3 jobs queued or running")


@pytest.mark.parametrize(
    ("positions", "hold", "said"),
    [
        ([None], None, "Started."),
        ([3], None, "Queued (#3)."),
        ([None, 2, 4], None, "Queued 3 jobs (#2 to #4)."),
        ([1], PAUSED, "Queued: the queue is paused by an admin."),
        ([None, None], NO_WORKER, "Queued 2 jobs: waiting for a GPU worker."),
    ],
)
def test_a_submission_says_whether_it_started_or_why_it_waits(
    positions: list[int | None], hold: str | None, said: str
) -> None:
    assert submitted(positions, hold) == said
