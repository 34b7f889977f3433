"""The fair scheduler on its own: lanes, round-robin, per-member order and caps."""

from __future__ import annotations

from imagine_bot.engine.jobs.scheduler import FairScheduler, QueueEntry


def entries(*specs: tuple[int, str]) -> list[QueueEntry]:
    """(owner, lane) per job, in submission order."""
    return [
        QueueEntry(f"{owner}-{seq}", owner, lane, seq) for seq, (owner, lane) in enumerate(specs)
    ]


def owners(order: list[QueueEntry]) -> list[int]:
    return [entry.owner_id for entry in order]


def test_members_take_turns_in_a_lane_and_keep_their_own_order() -> None:
    queue = entries(*[(1, "fast")] * 5, (2, "fast"), (2, "fast"), (3, "fast"))
    order = FairScheduler(3).order(queue)
    assert owners(order) == [1, 2, 3, 1, 2, 1, 1, 1]
    assert [e.seq for e in order if e.owner_id == 1] == [0, 1, 2, 3, 4]


def test_the_member_served_least_recently_goes_first() -> None:
    scheduler = FairScheduler(3)
    scheduler.served(1)
    scheduler.served(2)
    queue = entries((1, "fast"), (2, "fast"), (3, "fast"))
    assert owners(scheduler.order(queue)) == [3, 1, 2]


def test_lanes_turbo_then_fast_then_relax() -> None:
    queue = entries((1, "relax"), (2, "fast"), (3, "turbo"), (1, "fast"), (2, "relax"))
    assert [(e.owner_id, e.lane) for e in FairScheduler(3).order(queue)] == [
        (3, "turbo"),
        (2, "fast"),
        (1, "fast"),
        (2, "relax"),  # served less recently than 1
        (1, "relax"),
    ]


def test_choose_skips_members_at_their_running_cap() -> None:
    scheduler = FairScheduler(2)
    queue = entries((1, "turbo"), (2, "fast"))
    assert scheduler.choose(queue, {1: 2}) == queue[1]
    assert scheduler.choose(queue, {1: 2, 2: 2}) is None
    assert scheduler.choose([], {}) is None
