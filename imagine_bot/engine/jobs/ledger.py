"""The GPU-time ledger: what a job reserves, is charged and gets back, what admins grant or
reset, and the balance summed from it.

Everything is measured in GPU-seconds on the worker and kept as integer milliseconds. Every row
is written by ``Ledger._entry``. ``price``, ``reserve``, ``charge`` and ``release`` run inside
the ``JobStore`` transaction that changes the job, so a job and its ledger rows commit together;
``quota_status``, ``grant`` and ``reset`` are transactions of their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from imagine_bot.config.quota import QuotaSettings
from imagine_bot.engine.errors import LaneNotInPlan, OutOfTime
from imagine_bot.engine.jobs.members import member_row
from imagine_bot.engine.jobs.periods import (
    Period,
    billed,
    known_tier,
    lane_multiplier,
    period_at,
    tier_of,
    tier_settings,
)
from imagine_bot.engine.jobs.records import QuotaStatus
from imagine_bot.engine.jobs.storage.database import Database
from imagine_bot.engine.jobs.storage.tables import JobRow, LedgerRow, UserRow
from imagine_bot.engine.spec import SUCCESS_STATES, GenerationSpec, Lane
from imagine_bot.engine.times import Clock, to_ms, to_seconds, utc_now, utc_stamp


@dataclass(frozen=True)
class Priced:
    """A spec as it will be queued: in the lane it gets, with the GPU time it reserves."""

    spec: GenerationSpec
    reserve_ms: int
    reserve_period: datetime | None
    """The start of the period the reservation is taken from (None: nothing reserved)."""
    warnings: list[str] = field(default_factory=list)


class Ledger:
    """GPU-time accounts of the members, by tier and period (``quota`` settings)."""

    def __init__(self, quota: QuotaSettings, database: Database, clock: Clock = utc_now) -> None:
        self.quota = quota
        self.db = database
        self.clock = clock

    # --- inside a job's transaction ----------------------------------------------------------

    def price(
        self,
        session: Session,
        user_id: int,
        tier_name: str,
        specs: Sequence[GenerationSpec],
        now: datetime,
    ) -> list[Priced]:
        """Each spec in the lane it gets and what it reserves: all of them, or an error.

        Out of fast time, a tier with relax gets the job in relax (with a warning); otherwise
        ``OutOfTime``. ``LaneNotInPlan`` when the tier has no relax and the job asks for it.
        """
        if not self.quota.enabled:
            return [Priced(spec, 0, None) for spec in specs]
        tier = tier_settings(self.quota, tier_name)
        period = period_at(self.quota, tier, now)
        left = balance(session, user_id, period.start, tier.budget).left_ms
        priced = []
        estimates: dict[tuple[str, int, int, int], float] = {}
        for spec in specs:
            lane = spec.lane
            if lane == Lane.RELAX and not tier.relax:
                raise LaneNotInPlan(lane=lane, tier=tier_name)
            key = (spec.model, spec.width, spec.height, spec.steps)
            if key not in estimates:
                estimates[key] = estimate_seconds(session, spec, self.quota)
            estimate = estimates[key]
            cost = to_ms(estimate * lane_multiplier(self.quota, lane))
            if not billed(tier, spec.action):
                cost = 0
            warnings = []
            if cost > 0 and cost > left:
                relax_cost = to_ms(estimate * lane_multiplier(self.quota, Lane.RELAX))
                if lane == Lane.RELAX or not tier.relax or (relax_cost and relax_cost > left):
                    raise OutOfTime(
                        lane=lane,
                        multiplier=lane_multiplier(self.quota, lane),
                        needed=to_seconds(cost),
                        left=to_seconds(left),
                        budget=tier.budget,
                        period=tier.period,
                        resets_at=period.end,
                    )
                lane, cost = Lane.RELAX, relax_cost
                warnings.append(
                    f"You are out of fast GPU time until {utc_stamp(period.end)}, so this job "
                    "runs in relax mode: free, but it starts only when no fast job is waiting."
                )
            left -= cost
            in_lane = spec if spec.lane == lane else spec.model_copy(update={"lane": lane})
            priced.append(Priced(in_lane, cost, period.start if cost else None, warnings))
        return priced

    def reserve(self, session: Session, job: JobRow, now: datetime) -> None:
        """Hold the job's expected cost (``job.reserved_ms``, set from ``price``)."""
        if job.reserved_ms and job.reserve_period is not None:
            self._entry(
                session, job.owner_id, "reserve", job.reserved_ms, job.reserve_period, now, job
            )

    def release(self, session: Session, job: JobRow, now: datetime) -> None:
        """Give the job's hold back, in the period it was taken from."""
        if job.reserved_ms and job.reserve_period is not None:
            self._entry(
                session, job.owner_id, "release", -job.reserved_ms, job.reserve_period, now, job
            )

    def charge(self, session: Session, job: JobRow, gpu_seconds: float, now: datetime) -> int:
        """Release the job's hold and charge its measured cost (ms, lane price included) to the
        period it ended in; returns that cost."""
        cost = 0
        tier = tier_settings(self.quota, job.tier)
        if self.quota.enabled and billed(tier, job.action):
            cost = to_ms(gpu_seconds * lane_multiplier(self.quota, Lane(job.lane)))
        self.release(session, job, now)
        if cost:
            period = period_at(self.quota, tier, now)
            self._entry(session, job.owner_id, "charge", cost, period.start, now, job)
        return cost

    # --- the members' accounts ---------------------------------------------------------------

    def quota_status(self, user_id: int, role_ids: Iterable[int] | None = None) -> QuotaStatus:
        """The member's balance; their tier from ``role_ids``, else the one seen last."""
        with self.db.read() as session:
            return self._status(session, user_id, role_ids)

    def grant(self, user_id: int, seconds: float, note: str = "") -> QuotaStatus:
        """Add ``seconds`` of GPU time to this period (negative takes time away)."""
        with self.db.write() as session:
            now = self.clock()
            member_row(session, user_id, now)
            period = self._period(session, user_id, now)
            self._entry(session, user_id, "grant", -to_ms(seconds), period.start, now, note=note)
            session.flush()
            return self._status(session, user_id, None)

    def reset(self, user_id: int, note: str = "") -> QuotaStatus:
        """Forgive this period's usage: the balance is the full budget (plus grants) again."""
        with self.db.write() as session:
            now = self.clock()
            member_row(session, user_id, now)
            period = self._period(session, user_id, now)
            tier = tier_settings(self.quota, self._tier(session, user_id, None))
            used = balance(session, user_id, period.start, tier.budget).used_ms
            if used:
                self._entry(session, user_id, "reset", -used, period.start, now, note=note)
                session.flush()
            return self._status(session, user_id, None)

    def _entry(
        self,
        session: Session,
        user_id: int,
        kind: str,
        amount_ms: int,
        period_start: datetime,
        now: datetime,
        job: JobRow | None = None,
        *,
        note: str = "",
    ) -> None:
        session.add(
            LedgerRow(
                user_id=user_id,
                job_id=job.id if job is not None else None,
                kind=kind,
                amount_ms=amount_ms,
                period_start=period_start,
                created_at=now,
                note=note,
            )
        )

    def _tier(self, session: Session, user_id: int, role_ids: Iterable[int] | None) -> str:
        if role_ids is not None:
            return tier_of(self.quota, role_ids)
        user = session.get(UserRow, user_id)
        return known_tier(self.quota, user.tier if user else None)

    def _period(self, session: Session, user_id: int, now: datetime) -> Period:
        """The current period of the member's last seen tier."""
        tier = tier_settings(self.quota, self._tier(session, user_id, None))
        return period_at(self.quota, tier, now)

    def _status(
        self, session: Session, user_id: int, role_ids: Iterable[int] | None
    ) -> QuotaStatus:
        name = self._tier(session, user_id, role_ids)
        tier = tier_settings(self.quota, name)
        period = period_at(self.quota, tier, self.clock())
        sums = balance(session, user_id, period.start, tier.budget)
        lane: Lane | None
        if not self.quota.enabled or sums.left_ms > 0:
            lane = Lane.FAST
        else:
            lane = Lane.RELAX if tier.relax else None
        return QuotaStatus(
            user_id=user_id,
            tier=name,
            enabled=self.quota.enabled,
            period=tier.period,
            period_start=period.start,
            next_reset=period.end,
            budget=tier.budget,
            used=to_seconds(sums.used_ms),
            granted=to_seconds(sums.granted_ms),
            held=to_seconds(sums.held_ms),
            left=to_seconds(sums.left_ms),
            relax_allowed=tier.relax,
            lane=lane,
        )


@dataclass(frozen=True)
class Balance:
    """The ledger of one member and period, summed by kind (milliseconds)."""

    budget_ms: int
    held_ms: int
    """Reserved for jobs still queued or running."""
    charged_ms: int
    granted_ms: int
    """Added by admins (positive)."""
    reset_ms: int
    """Taken off by admin resets (positive: forgiven)."""

    @property
    def used_ms(self) -> int:
        return self.charged_ms - self.reset_ms

    @property
    def left_ms(self) -> int:
        return self.budget_ms + self.granted_ms - self.used_ms - self.held_ms


def balance(session: Session, user_id: int, period_start: datetime, budget: float) -> Balance:
    rows = session.exec(
        select(LedgerRow.kind, func.sum(LedgerRow.amount_ms))
        .where(col(LedgerRow.user_id) == user_id, col(LedgerRow.period_start) == period_start)
        .group_by(col(LedgerRow.kind))
    ).all()
    sums = {kind: int(total or 0) for kind, total in rows}
    return Balance(
        budget_ms=to_ms(budget),
        held_ms=sums.get("reserve", 0) + sums.get("release", 0),
        charged_ms=sums.get("charge", 0),
        granted_ms=-sums.get("grant", 0),
        reset_ms=-sums.get("reset", 0),
    )


def estimate_seconds(session: Session, spec: GenerationSpec, quota: QuotaSettings) -> float:
    """Expected GPU-seconds of ``spec``: the mean of recent jobs with the same model, size and
    steps; else recent jobs of the model scaled by pixels x steps; else the configured default."""
    measured = (
        col(JobRow.gpu_seconds).is_not(None),
        col(JobRow.state).in_([str(state) for state in SUCCESS_STATES]),
    )
    same = session.exec(
        select(JobRow.gpu_seconds)
        .where(
            col(JobRow.model) == spec.model,
            col(JobRow.width) == spec.width,
            col(JobRow.height) == spec.height,
            col(JobRow.steps) == spec.steps,
            *measured,
        )
        .order_by(col(JobRow.seq).desc())
        .limit(quota.estimate_samples)
    ).all()
    if same:
        return sum(value or 0.0 for value in same) / len(same)
    model = session.exec(
        select(JobRow.gpu_seconds, JobRow.width, JobRow.height, JobRow.steps)
        .where(col(JobRow.model) == spec.model, *measured)
        .order_by(col(JobRow.seq).desc())
        .limit(quota.estimate_samples)
    ).all()
    if model:
        per_unit = [(seconds or 0.0) / (w * h * s) for seconds, w, h, s in model]
        return sum(per_unit) / len(per_unit) * spec.width * spec.height * spec.steps
    return quota.default_estimate
