"""The settings model. Every field is documented in ``default.toml``."""

from __future__ import annotations

from datetime import UTC, time, tzinfo
from pathlib import Path
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SchedulerName = Literal[
    "default", "euler", "euler_a", "ddim", "dpmpp_2m", "dpmpp_2m_karras", "unipc"
]
SCHEDULERS: tuple[str, ...] = get_args(SchedulerName)


class InvalidReference(ValueError):
    """A setting that names something (a preset) that is not defined; ``key`` is its dotted path."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelPreset(_Section):
    """A model the engine can run, and the defaults Midjourney flags are measured against."""

    source: str = Field(min_length=1)
    resolution: int = Field(1024, ge=64, le=4096, multiple_of=64)
    steps: int = Field(30, ge=1, le=200)
    guidance: float = Field(6.0, ge=0.0, le=30.0)
    scheduler: SchedulerName = "default"
    versions: tuple[str, ...] = ()
    niji: tuple[str, ...] = ()
    negative: str = ""
    style: str = ""
    draft_model: str | None = None
    draft_steps: int | None = Field(None, ge=1, le=200)
    draft_resolution: int | None = Field(None, ge=64, le=4096, multiple_of=64)

    @property
    def pixel_area(self) -> int:
        return self.resolution * self.resolution


class PathSettings(_Section):
    data_dir: Path = Path("imagine-data")

    @property
    def models(self) -> Path:
        return self.data_dir / "models"


class EngineSettings(_Section):
    device: str = "auto"
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    max_pixels: int = Field(2048 * 2048, ge=64 * 64)


class PluginSettings(_Section):
    folder: Path | None = None
    blocked: tuple[str, ...] = ()


class DatabaseSettings(_Section):
    """Where jobs, quotas and preferences are kept."""

    url: str = ""
    """Any SQLAlchemy URL; empty means the SQLite file ``<data_dir>/imagine.db``."""
    busy_timeout: float = Field(30.0, gt=0, le=3600)
    """Seconds a writer waits for another writer's lock before giving up (SQLite)."""

    def resolved_url(self, data_dir: Path) -> str:
        return self.url or f"sqlite:///{data_dir / 'imagine.db'}"


class QueueSettings(_Section):
    """Caps that keep one person from filling the queue, and crash recovery."""

    max_running_per_user: int = Field(3, ge=1, le=100)
    max_waiting_per_user: int = Field(10, ge=0, le=1000)
    max_waiting_total: int = Field(500, ge=1, le=100_000)
    retry_limit: int = Field(2, ge=0, le=10)
    """How often a job that was running when the process died is started again."""


Period = Literal["daily", "weekly", "monthly"]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[str, ...] = get_args(Weekday)


class QuotaTier(_Section):
    """A plan: members with one of ``roles`` get ``budget`` GPU-seconds of fast time a period."""

    roles: tuple[int, ...] = ()
    budget: float = Field(ge=0)
    period: Period = "daily"
    relax: bool = True
    """Whether relax mode is allowed, and so the fallback when fast time runs out."""


class QuotaSettings(_Section):
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
                f"{value!r} is not a known time zone (e.g. UTC, Europe/Paris; zones other "
                "than UTC need the system's time zone database, or `pip install tzdata`)"
            ) from None
        return value

    @property
    def zone(self) -> tzinfo:
        return zone(self.timezone)


def zone(name: str) -> tzinfo:
    """The time zone ``name``; UTC needs no time zone database (slim images lack one)."""
    return UTC if name.upper() == "UTC" else ZoneInfo(name)

    @model_validator(mode="after")
    def _default_tier_exists(self) -> QuotaSettings:
        if self.default_tier not in self.tiers:
            known = ", ".join(sorted(self.tiers)) or "none defined"
            raise InvalidReference(
                "quota.default_tier",
                f"{self.default_tier!r} is not a [quota.tiers.*] tier ({known})",
            )
        return self


class Settings(_Section):
    default_model: str = "tiny"
    paths: PathSettings = PathSettings()
    engine: EngineSettings = EngineSettings()
    plugins: PluginSettings = PluginSettings()
    models: dict[str, ModelPreset] = Field(default_factory=dict)
    database: DatabaseSettings = DatabaseSettings()
    queue: QueueSettings = QueueSettings()
    quota: QuotaSettings = QuotaSettings()

    @model_validator(mode="after")
    def _references_exist(self) -> Settings:
        known = ", ".join(sorted(self.models)) or "none defined"
        if self.default_model not in self.models:
            raise InvalidReference(
                "default_model", f"{self.default_model!r} is not a [models.*] preset ({known})"
            )
        for name, preset in self.models.items():
            if preset.draft_model is not None and preset.draft_model not in self.models:
                raise InvalidReference(
                    f"models.{name}.draft_model",
                    f"{preset.draft_model!r} is not a [models.*] preset ({known})",
                )
        return self
