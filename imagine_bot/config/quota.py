"""Quota settings: GPU-time budgets by Discord role, and the periods they reset on."""

from __future__ import annotations

from datetime import UTC, time, tzinfo
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from imagine_bot.config.quoting import quoted
from imagine_bot.config.section import InvalidReference, Section

Period = Literal["daily", "weekly", "monthly"]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[str, ...] = get_args(Weekday)


class QuotaTier(Section):
    """A plan: members with one of ``roles`` get ``budget`` GPU-seconds of fast time a period."""

    roles: tuple[int, ...] = ()
    budget: float = Field(ge=0)
    period: Period = "daily"
    relax: bool = True
    """Whether relax mode is allowed, and so the fallback when fast time runs out."""
    describe: Literal["charged", "free"] = "free"
    """Whether /describe's GPU time counts against ``budget`` (it is short: seconds a call)."""


class QuotaSettings(Section):
    """GPU-time budgets by Discord role, measured in GPU-seconds on the worker."""

    enabled: bool = True
    default_tier: str = "everyone"
    tiers: dict[str, QuotaTier] = Field(
        default_factory=lambda: {"everyone": QuotaTier(budget=3600.0)}
    )
    timezone: str = "UTC"
    reset_time: time = time(0, 0)
    weekly_reset_day: Weekday = "monday"
    monthly_reset_day: int = Field(1, ge=1, le=28)
    turbo_multiplier: float = Field(2.0, ge=0)
    fast_multiplier: float = Field(1.0, ge=0)
    relax_multiplier: float = Field(0.0, ge=0)
    default_estimate: float = Field(30.0, gt=0)
    """GPU-seconds reserved for a job when no similar job has been measured yet."""
    estimate_samples: int = Field(20, ge=1, le=1000)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zone(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{quoted(value)} is not a known time zone (e.g. UTC, Europe/Paris; zones other "
                "than UTC need the system's time zone database, or `pip install tzdata`)"
            ) from None
        return value

    @property
    def zone(self) -> tzinfo:
        return zone(self.timezone)

    @model_validator(mode="after")
    def _default_tier_exists(self) -> QuotaSettings:
        if self.default_tier not in self.tiers:
            known = ", ".join(sorted(self.tiers)) or "none defined"
            raise InvalidReference(
                "quota.default_tier",
                f"{self.default_tier!r} is not a [quota.tiers.*] tier ({known})",
            )
        return self


def zone(name: str) -> tzinfo:
    """The time zone ``name``; UTC needs no time zone database (slim images lack one)."""
    return UTC if name.upper() == "UTC" else ZoneInfo(name)
