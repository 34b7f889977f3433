"""The settings model. Every field is documented in ``default.toml``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

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

    @property
    def store(self) -> Path:
        """The image store: every input and output image, by sha256."""
        return self.data_dir / "store"


class EngineSettings(_Section):
    device: str = "auto"
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    max_pixels: int = Field(2048 * 2048, ge=64 * 64)
    preview_every: int = Field(4, ge=0)


class ActionSettings(_Section):
    """How the buttons' actions (vary, upscale, zoom, pan, enhance) derive their jobs."""

    vary_subtle_strength: float = Field(0.35, gt=0.0, le=1.0)
    vary_strong_strength: float = Field(0.7, gt=0.0, le=1.0)
    grid_variation: Literal["subtle", "strong"] = "strong"
    upscale_factor: Literal[2, 4] = 2
    creative_strength: float = Field(0.3, gt=0.0, le=1.0)
    enhance_strength: float = Field(0.55, gt=0.0, le=1.0)
    pan_fraction: float = Field(0.5, gt=0.0, le=1.0)
    pixel_budget: float = Field(1.5, ge=0.25, le=4.0)
    feather: float = Field(0.03, ge=0.0, le=0.25)


class PluginSettings(_Section):
    folder: Path | None = None
    blocked: tuple[str, ...] = ()


class Settings(_Section):
    default_model: str = "tiny"
    paths: PathSettings = PathSettings()
    engine: EngineSettings = EngineSettings()
    plugins: PluginSettings = PluginSettings()
    actions: ActionSettings = ActionSettings()
    models: dict[str, ModelPreset] = Field(default_factory=dict)

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
