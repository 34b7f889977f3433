"""The pure quota rules: budget periods in the admin's time zone, and tiers by role."""

from __future__ import annotations

from datetime import UTC, datetime

from imagine_bot.config import Settings
from imagine_bot.config.quota import QuotaTier
from imagine_bot.engine.jobs.periods import period_at, tier_of
from tests.support.jobkit import tuned


def test_periods_start_at_the_reset_time(settings: Settings) -> None:
    quota = tuned(
        settings,
        quota={
            "reset_time": datetime(2000, 1, 1, 6, 30).time(),
            "timezone": "Europe/Paris",
            "weekly_reset_day": "wednesday",
            "monthly_reset_day": 15,
        },
    ).quota

    def period(kind: str, when: datetime) -> tuple[str, str]:
        tier = QuotaTier(budget=1, period=kind)
        found = period_at(quota, tier, when)
        return found.start.isoformat(), found.end.isoformat()

    # 06:30 in Paris is 05:30 UTC in winter
    assert period("daily", datetime(2025, 3, 14, 5, 0, tzinfo=UTC)) == (
        "2025-03-13T05:30:00+00:00",
        "2025-03-14T05:30:00+00:00",
    )
    assert period("daily", datetime(2025, 3, 14, 5, 30, tzinfo=UTC))[0] == (
        "2025-03-14T05:30:00+00:00"
    )
    # 2025-03-14 is a Friday; the week began on Wednesday the 12th
    assert period("weekly", datetime(2025, 3, 14, 12, tzinfo=UTC)) == (
        "2025-03-12T05:30:00+00:00",
        "2025-03-19T05:30:00+00:00",
    )
    # before the 15th the month began on February 15th
    assert period("monthly", datetime(2025, 3, 14, 12, tzinfo=UTC)) == (
        "2025-02-15T05:30:00+00:00",
        "2025-03-15T05:30:00+00:00",
    )
    # across the year, and across the change to summer time (05:30 -> 04:30 UTC)
    assert period("monthly", datetime(2025, 12, 20, tzinfo=UTC))[1] == "2026-01-15T05:30:00+00:00"
    assert period("monthly", datetime(2025, 3, 20, tzinfo=UTC))[1] == "2025-04-15T04:30:00+00:00"


def test_the_tier_with_the_largest_budget_among_the_members_roles_applies(
    settings: Settings,
) -> None:
    quota = tuned(
        settings,
        quota={
            "tiers": {
                "everyone": QuotaTier(budget=10),
                "pro": QuotaTier(budget=100, roles=(7, 8)),
                "studio": QuotaTier(budget=1000, roles=(9,)),
            }
        },
    ).quota
    assert tier_of(quota, []) == "everyone"
    assert tier_of(quota, [1, 8]) == "pro"
    assert tier_of(quota, [7, 9]) == "studio"
