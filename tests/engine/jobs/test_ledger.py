"""The GPU-time ledger, one rule per test: reserve on submit, charge on success only, refund on
failure and cancel, turbo 2x, relax free, relax fallback, refusal with the reset time, resets
at period boundaries (an injected clock), admin grant and reset."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from imagine_bot.config import Settings
from imagine_bot.engine.errors import LaneNotInPlan, OutOfTime, QuotaExceeded
from imagine_bot.engine.images.store import StoredImage
from imagine_bot.engine.jobs import listings
from imagine_bot.engine.jobs.records import JobRecord, Requester
from imagine_bot.engine.jobs.scheduler import FairScheduler
from imagine_bot.engine.jobs.store import JobStore
from imagine_bot.engine.spec import JobState
from tests.support.jobkit import Clock, make_spec, open_store, quota_settings, tuned

ALICE = Requester(1)


def run_next(store: JobStore, gpu_seconds: float) -> JobRecord:
    """Start the next job and finish it as a success that took ``gpu_seconds``."""
    record = store.start_next(FairScheduler(3))
    assert record is not None
    image = StoredImage("a" * 64, Path("a.png"), 10, 8, 8)
    return store.finish_success(record.id, gpu_seconds, [image] * 4, image)


def ledger(store: JobStore, user_id: int = ALICE.user_id) -> list[tuple[str, int]]:
    from sqlmodel import col, select

    from imagine_bot.engine.jobs.storage.tables import LedgerRow

    with store.db.read() as session:
        rows = session.exec(
            select(LedgerRow).where(col(LedgerRow.user_id) == user_id).order_by(col(LedgerRow.id))
        ).all()
        return [(row.kind, row.amount_ms) for row in rows]


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2025, 3, 14, 12, 0, tzinfo=UTC))


def store_with(settings: Settings, tmp_path: Path, clock: Clock, **quota: object) -> JobStore:
    return open_store(quota_settings(settings, **quota), tmp_path, clock)  # type: ignore[arg-type]


def test_submit_reserves_the_estimate_and_success_charges_the_measured_time(
    settings: Settings, tmp_path: Path, clock: Clock
) -> None:
    store = store_with(settings, tmp_path, clock, budget=100.0, estimate=10.0)
    (job,), _ = store.submit(ALICE, [make_spec()])
    assert job.reserved_seconds == 10.0
    assert store.ledger.quota_status(ALICE.user_id).held == 10.0
    clock.advance(minutes=30)  # queue time is never charged
    done = run_next(store, 7.25)
    assert done.charged_seconds == 7.25 and done.gpu_seconds == 7.25
    status = store.ledger.quota_status(ALICE.user_id)
    assert (status.used, status.held, status.left) == (7.25, 0.0, 92.75)
    assert ledger(store) == [("reserve", 10_000), ("release", -10_000), ("charge", 7_250)]


def test_the_estimate_follows_recent_similar_jobs(
    settings: Settings, tmp_path: Path, clock: Clock
) -> None:
    store = store_with(settings, tmp_path, clock, budget=1000.0, estimate=10.0)
    store.submit(ALICE, [make_spec(steps=4, size=64)])
    run_next(store, 2.0)
    store.submit(ALICE, [make_spec(steps=4, size=64)])
    run_next(store, 4.0)
    (same,), _ = store.submit(ALICE, [make_spec(steps=4, size=64)])
    assert same.reserved_seconds == 3.0  # the mean of the similar jobs
    (bigger,), _ = store.submit(ALICE, [make_spec(steps=8, size=128)])
    assert bigger.reserved_seconds == 24.0  # same model, scaled by pixels x steps
    (other,), _ = store.submit(ALICE, [make_spec(model="sdxl")])
    assert other.reserved_seconds == 10.0  # nothing measured: the default


@pytest.mark.parametrize("outcome", [JobState.FAILED, JobState.CANCELLED])
def test_failure_and_cancel_refund_everything(
    settings: Settings, tmp_path: Path, clock: Clock, outcome: JobState
) -> None:
    store = store_with(settings, tmp_path, clock, budget=100.0, estimate=10.0)
    store.submit(ALICE, [make_spec()])
    running = store.start_next(FairScheduler(3))
    assert running is not None
    ended = store.finish_unsuccessful(running.id, outcome, "it broke")
    assert ended.state == outcome and ended.charged_seconds is None
    status = store.ledger.quota_status(ALICE.user_id)
    assert (status.used, status.held, status.left) == (0.0, 0.0, 100.0)
    assert ledger(store) == [("reserve", 10_000), ("release", -10_000)]


def test_cancelling_a_queued_job_refunds_it(
    settings: Settings, tmp_path: Path, clock: Clock
) -> None:
    store = store_with(settings, tmp_path, clock, budget=100.0, estimate=10.0)
    (job,), _ = store.submit(ALICE, [make_spec()])
    assert store.cancel_queued(job.id, ALICE.user_id).state == JobState.CANCELLED
    assert store.ledger.quota_status(ALICE.user_id).left == 100.0


def test_turbo_costs_twice_and_relax_is_free(
    settings: Settings, tmp_path: Path, clock: Clock
) -> None:
    store = store_with(settings, tmp_path, clock, budget=100.0, estimate=10.0)
    (turbo,), _ = store.submit(ALICE, [make_spec(lane="turbo")])
    assert turbo.reserved_seconds == 20.0
    assert run_next(store, 3.0).charged_seconds == 6.0
    (relax,), _ = store.submit(ALICE, [make_spec(lane="relax")])
    assert relax.reserved_seconds == 0.0 and relax.lane == "relax"
    done = run_next(store, 3.0)
    assert done.gpu_seconds == 3.0 and done.charged_seconds == 0.0
    assert store.ledger.quota_status(ALICE.user_id).used == 6.0


def test_out_of_fast_time_moves_jobs_to_relax_with_a_warning(
    settings: Settings, tmp_path: Path, clock: Clock
) -> None:
    store = store_with(settings, tmp_path, clock, budget=25.0, estimate=10.0, relax=True)
    jobs, _ = store.submit(ALICE, [make_spec(n) for n in range(3)])
    assert [job.lane for job in jobs] == ["fast", "fast", "relax"]
    assert [job.spec.lane for job in jobs] == ["fast", "fast", "relax"]
    assert jobs[2].reserved_seconds == 0.0
    (warning,) = jobs[2].warnings
    assert "out of fast GPU time until 2025-03-15 00:00 UTC" in warning and "relax" in warning
    status = store.ledger.quota_status(ALICE.user_id)
    assert (status.held, status.left, status.lane) == (20.0, 5.0, "fast")


def test_out_of_time_without_relax_is_refused_with_the_reset_time(
    settings: Settings, tmp_path: Path, clock: Clock
) -> None:
    store = store_with(settings, tmp_path, clock, budget=15.0, estimate=10.0, relax=False)
    store.submit(ALICE, [make_spec(1)])
    with pytest.raises(QuotaExceeded, match=r"resets at 2025-03-15 00:00 UTC") as refused:
        store.submit(ALICE, [make_spec(2)])
    assert refused.value.resets_at == datetime(2025, 3, 15, tzinfo=UTC)
    with pytest.raises(QuotaExceeded, match="turbo time counts 2x"):
        store.submit(ALICE, [make_spec(3, lane="turbo")])
    with pytest.raises(QuotaExceeded, match="Relax mode is not part of your plan"):
        store.submit(ALICE, [make_spec(4, lane="relax")])
    # all or nothing: a prompt whose second job does not fit queues neither
    with pytest.raises(QuotaExceeded):
        store.submit(Requester(2), [make_spec(5), make_spec(6)])
    assert listings.jobs_of(store.db, store.images, 2) == []
    assert store.ledger.quota_status(ALICE.user_id).lane == "fast"
    assert store.ledger.quota_status(ALICE.user_id).left == 5.0


def test_refusals_carry_the_facts_and_a_sentence_without_flags(
    settings: Settings, tmp_path: Path, clock: Clock
) -> None:
    store = store_with(settings, tmp_path, clock, budget=15.0, estimate=10.0, relax=False)
    store.submit(ALICE, [make_spec(1)])
    with pytest.raises(OutOfTime) as short:
        store.submit(ALICE, [make_spec(2, lane="turbo")])
    facts = short.value
    assert (facts.lane, facts.multiplier, facts.needed, facts.left) == ("turbo", 2.0, 20.0, 5.0)
    assert (facts.budget, facts.period) == (15.0, "daily")
    with pytest.raises(LaneNotInPlan) as refused:
        store.submit(ALICE, [make_spec(3, lane="relax")])
    assert (refused.value.lane, refused.value.tier) == ("relax", "everyone")
    assert "--" not in str(facts) + str(refused.value)


def test_a_new_period_refills_the_budget(settings: Settings, tmp_path: Path, clock: Clock) -> None:
    clock.now = datetime(2025, 3, 14, 23, 0, tzinfo=UTC)
    store = store_with(settings, tmp_path, clock, budget=10.0, estimate=10.0, relax=False)
    store.submit(ALICE, [make_spec(1)])
    run_next(store, 10.0)
    with pytest.raises(QuotaExceeded):
        store.submit(ALICE, [make_spec(2)])
    assert store.ledger.quota_status(ALICE.user_id).lane is None
    clock.now = datetime(2025, 3, 15, 0, 0, tzinfo=UTC)
    status = store.ledger.quota_status(ALICE.user_id)
    assert (status.used, status.left, status.period_start) == (0.0, 10.0, clock.now)
    (job,), _ = store.submit(ALICE, [make_spec(3)])
    assert job.lane == "fast"


def test_a_job_reserved_before_a_reset_is_charged_in_the_period_it_ran(
    settings: Settings, tmp_path: Path, clock: Clock
) -> None:
    clock.now = datetime(2025, 3, 14, 23, 59, tzinfo=UTC)
    store = store_with(settings, tmp_path, clock, budget=100.0, estimate=10.0)
    store.submit(ALICE, [make_spec()])
    clock.advance(minutes=2)
    run_next(store, 4.0)
    assert store.ledger.quota_status(ALICE.user_id).used == 4.0
    clock.now = datetime(2025, 3, 14, 23, 59, tzinfo=UTC)
    status = store.ledger.quota_status(ALICE.user_id)
    assert (status.used, status.held, status.left) == (0.0, 0.0, 100.0)


def test_admins_grant_and_reset(settings: Settings, tmp_path: Path, clock: Clock) -> None:
    store = store_with(settings, tmp_path, clock, budget=10.0, estimate=10.0, relax=False)
    store.submit(ALICE, [make_spec(1)])
    run_next(store, 10.0)
    granted = store.ledger.grant(ALICE.user_id, 30.0, note="contest winner")
    assert (granted.granted, granted.left) == (30.0, 30.0)
    store.submit(ALICE, [make_spec(2)])
    run_next(store, 5.5)
    reset = store.ledger.reset(ALICE.user_id)
    assert (reset.used, reset.granted, reset.left) == (0.0, 30.0, 40.0)
    assert store.ledger.grant(ALICE.user_id, -40.0).left == 0.0
    assert store.ledger.grant(99, 5.0).left == 15.0  # a member who never used the bot


def test_quotas_switched_off_charge_nothing(
    settings: Settings, tmp_path: Path, clock: Clock
) -> None:
    store = open_store(
        tuned(quota_settings(settings, budget=0.0, relax=False), quota={"enabled": False}),
        tmp_path,
        clock,
    )
    (job,), _ = store.submit(ALICE, [make_spec(lane="turbo")])
    assert (job.lane, job.reserved_seconds) == ("turbo", 0.0)
    assert run_next(store, 5.0).charged_seconds == 0.0
    assert ledger(store) == []
