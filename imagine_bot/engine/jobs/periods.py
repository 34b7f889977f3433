"""The pure rules of GPU-time quotas: tiers, budget periods and lane prices (no database)."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from imagine_bot.config.quota import WEEKDAYS, QuotaSettings, QuotaTier
from imagine_bot.engine.spec import DESCRIBE, Lane


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


def billed(tier: QuotaTier, action: str) -> bool:
    """Whether a job of ``action`` costs GPU time in ``tier`` (its /describe may be free)."""
    return action != DESCRIBE or tier.describe == "charged"


def lane_multiplier(quota: QuotaSettings, lane: Lane) -> float:
    return {
        Lane.TURBO: quota.turbo_multiplier,
        Lane.FAST: quota.fast_multiplier,
        Lane.RELAX: quota.relax_multiplier,
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
