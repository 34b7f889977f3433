"""200 reservations from 20 members racing on one SQLite file, from 4 processes x 5 threads:
no budget is ever overspent and the ledger balances to the millisecond."""

from __future__ import annotations

import multiprocessing
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import func
from sqlmodel import col, select

from imagine_bot.config import Settings, load_settings
from imagine_bot.engine.errors import QuotaExceeded
from imagine_bot.engine.images.store import StoredImage
from imagine_bot.engine.jobs.records import Requester
from imagine_bot.engine.jobs.storage.tables import JobRow, LedgerRow
from imagine_bot.engine.jobs.store import JobStore
from imagine_bot.engine.spec import JobState
from tests.support.jobkit import make_spec, open_store, quota_settings, start_job, tuned

MEMBERS = 20
ATTEMPTS_PER_MEMBER = 10
BUDGET = 100.0
ESTIMATE = 15.0
"""Each member can hold 6 reservations (90 s) of the 10 they try, unless some finish cheaper."""
IMAGE = StoredImage("0" * 64, Path("0.png"), 1, 1, 1)


def racing_settings(test_env: dict[str, str]) -> Settings:
    settings = quota_settings(
        load_settings(env=test_env), budget=BUDGET, relax=False, estimate=ESTIMATE
    )
    return tuned(settings, queue={"max_waiting_per_user": 100, "max_waiting_total": 1000})


def attempt(store: JobStore, member: int, n: int) -> str:
    """Reserve one job; finish some of them at once (succeed cheaper, or fail)."""
    try:
        (job,), _ = store.submit(Requester(member), [make_spec(member * 100 + n)])
    except QuotaExceeded:
        return "refused"
    fate = random.Random(member * 1000 + n).random()
    if fate < 0.4:
        start_job(store, job.id)
        if fate < 0.3:
            cost = round(random.uniform(ESTIMATE - 0.5, ESTIMATE), 3)
            store.finish_success(job.id, cost, [IMAGE] * 4, IMAGE)
        else:
            store.finish_unsuccessful(job.id, JobState.FAILED, "boom")
    return "reserved"


def race(test_env: dict[str, str], path: Path, work: list[tuple[int, int]]) -> list[str]:
    store = open_store(racing_settings(test_env), path)
    with ThreadPoolExecutor(max_workers=5) as threads:
        return list(threads.map(lambda item: attempt(store, *item), work))


def test_racing_reservations_never_overspend_and_the_ledger_balances(
    test_env: dict[str, str], tmp_path: Path
) -> None:
    settings = racing_settings(test_env)
    open_store(settings, tmp_path)  # create the schema once
    work = [(member, n) for n in range(ATTEMPTS_PER_MEMBER) for member in range(1, MEMBERS + 1)]
    random.Random(7).shuffle(work)
    chunks = [work[i::4] for i in range(4)]
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        outcomes = [
            o
            for chunk in pool.starmap(race, [(test_env, tmp_path, c) for c in chunks])
            for o in chunk
        ]
    assert len(outcomes) == MEMBERS * ATTEMPTS_PER_MEMBER == 200
    assert outcomes.count("refused") > 0  # the budgets were really contended

    store = open_store(settings, tmp_path)
    with store.db.read() as session:
        for member in range(1, MEMBERS + 1):
            jobs = session.exec(select(JobRow).where(col(JobRow.owner_id) == member)).all()
            ledger = session.exec(select(LedgerRow).where(col(LedgerRow.user_id) == member)).all()
            sums = {
                kind: sum(row.amount_ms for row in ledger if row.kind == kind)
                for kind in ("reserve", "release", "charge")
            }
            pending = [job for job in jobs if job.state == JobState.QUEUED]
            charged = [job for job in jobs if job.state == JobState.SUCCEEDED]
            # every job reserved once; finished ones released once; successes charged once
            assert sums["reserve"] == sum(job.reserved_ms for job in jobs)
            assert -sums["release"] == sum(job.reserved_ms for job in jobs if job not in pending)
            assert sums["charge"] == sum(job.charged_ms or 0 for job in charged)
            assert all(job.charged_ms == round((job.gpu_seconds or 0) * 1000) for job in charged)
            # never overspent: what is held plus what was charged fits the budget
            held = sums["reserve"] + sums["release"]
            assert held + sums["charge"] <= BUDGET * 1000
            status = store.ledger.quota_status(member)
            assert round(status.left * 1000) == BUDGET * 1000 - held - sums["charge"]
        total = session.exec(select(func.count()).select_from(JobRow)).one()
    assert total == outcomes.count("reserved")
