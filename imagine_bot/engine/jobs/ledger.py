"""GPU-time quotas: tiers, periods, lane prices, cost estimates and ledger balances.

Everything is measured in GPU-seconds on the worker and kept in the ledger as integer
milliseconds. Nothing here writes: ``JobStore`` adds ledger rows inside its transactions.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from imagine_bot.config.settings import WEEKDAYS, QuotaSettings, QuotaTier
from imagine_bot.engine.jobs.storage.tables import JobRow, LedgerRow
from imagine_bot.engine.spec import GenerationSpec

LANES = ("turbo", "fast", "relax")
"""Queue lanes, highest priority first."""
MEASURED_STATES = ("succeeded", "delivered", "undelivered")


def to_ms(seconds: float) -> int:
    return round(seconds * 1000)


def to_seconds(milliseconds: int) -> float:
    return milliseconds / 1000


def tier_of(quota: QuotaSettings, role_ids: Iterable[int]) -> str:
    """The member's tier: of the tiers whose roles they have, the one with the largest budget."""
    roles = set(role_ids)
    matching = [
        (tier.budget, name) for name, tier in quota.tiers.items() if roles & set(tier.roles)
    ]
    return max(matching)[1] if matching else quota.default_tier


def known_tier(quota: QuotaSettings, name: str | None) -> str:
    """``name`` if it is a configured tier, else the default tier (a tier may be removed from
    the settings while jobs and members still name it)."""
    return name if name is not None and name in quota.tiers else quota.default_tier


def tier_settings(quota: QuotaSettings, name: str | None) -> QuotaTier:
    return quota.tiers[known_tier(quota, name)]


def lane_multiplier(quota: QuotaSettings, lane: str) -> float:
    return {
        "turbo": quota.turbo_multiplier,
        "fast": quota.fast_multiplier,
        "relax": quota.relax_multiplier,
    }[lane]


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    """The next reset."""


def period_at(quota: QuotaSettings, tier: QuotaTier, now: datetime) -> Period:
    """The budget period that contains ``now`` (aware), in UTC."""
    zone = quota.zone
    local = now.astimezone(zone)

    def at(day: datetime) -> datetime:
        return datetime.combine(day.date(), quota.reset_time, tzinfo=zone)

    if tier.period == "daily":
        start = at(local)
        if start > local:
            start = at(local - timedelta(days=1))
        end = at(start + timedelta(days=1))
    elif tier.period == "weekly":
        back = (local.weekday() - WEEKDAYS.index(quota.weekly_reset_day)) % 7
        start = at(local - timedelta(days=back))
        if start > local:
            start = at(start - timedelta(days=7))
        end = at(start + timedelta(days=7))
    else:
        start = _month_start(local.year, local.month, quota, zone)
        if start > local:
            year, month = _shift_month(local.year, local.month, -1)
            start = _month_start(year, month, quota, zone)
        end = _month_start(*_shift_month(start.year, start.month, 1), quota, zone)
    return Period(start.astimezone(UTC), end.astimezone(UTC))


def _month_start(year: int, month: int, quota: QuotaSettings, zone: tzinfo) -> datetime:
    day = min(quota.monthly_reset_day, calendar.monthrange(year, month)[1])
    return datetime(year, month, day, tzinfo=zone).replace(
        hour=quota.reset_time.hour, minute=quota.reset_time.minute, second=quota.reset_time.second
    )


def _shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + delta
    return index // 12, index % 12 + 1


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
    measured = col(JobRow.gpu_seconds).is_not(None), col(JobRow.state).in_(MEASURED_STATES)
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
