"""Time: the clock jobs and quotas read, GPU time in integer milliseconds (the ledger's unit,
so sums are exact) and both in words for people."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_ms(seconds: float) -> int:
    return round(seconds * 1000)


def to_seconds(milliseconds: int) -> float:
    return milliseconds / 1000


def duration(seconds: float) -> str:
    """GPU time for people: "42 s", "12.5 min", "3.2 h"."""
    if abs(seconds) < 120:
        return f"{seconds:.0f} s"
    if abs(seconds) < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def utc_stamp(moment: datetime) -> str:
    """A moment as "2025-03-15 00:00 UTC"."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
