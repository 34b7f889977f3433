"""The settings model. Every field is documented in ``default.toml``."""

from __future__ import annotations

from copy import deepcopy
from pathlib import Path
from typing import Literal, get_args

from pydantic import Field, field_validator, model_validator

from imagine_bot.config.describe import DescribeSettings
from imagine_bot.config.engine import EngineSettings
from imagine_bot.config.fix import FixSettings
from imagine_bot.config.logs import LogSettings
from imagine_bot.config.loras import LoraPreset, ModelFamily
from imagine_bot.config.names import PRESET_NAME
from imagine_bot.config.provenance import ProvenanceSettings
from imagine_bot.config.quota import QuotaSettings
from imagine_bot.config.quoting import quoted
from imagine_bot.config.safety import SafetySettings
from imagine_bot.config.section import InvalidReference, Section
from imagine_bot.config.structure import StructureSettings
from imagine_bot.config.web import WebSettings
from imagine_bot.config.workers import WorkerSettings

SchedulerName = Literal[
    "default", "euler", "euler_a", "ddim", "dpmpp_2m", "dpmpp_2m_karras", "unipc", "lcm"
]
"""The sampling schedulers a preset or job may name; ``default`` keeps the model's own."""
SCHEDULERS: tuple[SchedulerName, ...] = get_args(SchedulerName)


Quantization = Literal["nf4", "fp8", "gguf"]

BlockScales = dict[str, float | dict[str, float | list[float]]]
"""Relative IP-Adapter scales per UNet block, in diffusers' ``set_ip_adapter_scale`` layout:
``{"up": {"block_0": [0.0, 1.0, 0.0]}}``. Blocks left out get 0."""

SDXL_STYLE_BLOCKS: BlockScales = {"up": {"block_0": [0.0, 1.0, 0.0]}}
"""InstantStyle's style block of SDXL: the second attention of the first up block."""


class IPAdapterSettings(Section):
    """A model's IP-Adapter: the weights behind image prompts, ``--sref`` and ``--cref``/``--oref``.

    Loaded with diffusers' ``load_ip_adapter`` on the first job that needs it.
    """

    source: str = Field(min_length=1)
    """Hugging Face repo id or local folder holding the adapter weights."""
    subfolder: str = ""
    weight_name: str = Field(min_length=1)
    image_encoder: str | None = None
    """Repo id or folder of the CLIP image encoder; unset: ``image_encoder`` beside the weights."""
    image_encoder_subfolder: str = ""
    image_scale: float = Field(0.5, ge=0.0, le=2.0)
    """Adapter scale of image prompts at ``--iw 1`` (all blocks); ``--iw`` multiplies it."""
    style_scale: float = Field(1.0, ge=0.0, le=2.0)
    """Adapter scale of ``--sref`` images at ``--sw 100``, on ``style_blocks`` only."""
    style_blocks: BlockScales | None = Field(default_factory=lambda: deepcopy(SDXL_STYLE_BLOCKS))
    """The blocks that carry style (InstantStyle); the default suits SDXL. ``{}``: no ``--sref``."""
    subject_scale: float = Field(0.8, ge=0.0, le=2.0)
    """Adapter scale of ``--cref``/``--oref`` images at ``--cw 100``/``--ow 100``."""
    subject_blocks: BlockScales | None = None
    """The blocks that carry the subject; unset or ``{}``: no ``--cref``/``--oref``."""


EDIT_FAMILIES = ("flux1", "flux2", "qwen_image")
"""The families with an edit pipeline (``engine/gpu/families``: Kontext, FLUX.2, Qwen-Edit)."""


class ModelPreset(Section):
    """A model the engine can run, and the defaults Midjourney flags are measured against."""

    source: str = Field(min_length=1)
    """A hub id, a diffusers folder, a single-file checkpoint (``.safetensors``/``.ckpt``) or
    ``builtin:tiny``."""
    config: str | None = None
    """For a single-file ``source``: a diffusers folder or hub id of the same architecture whose
    configs and tokenizers describe it (unset: the one diffusers infers, from the hub)."""
    family: ModelFamily | None = None
    """The model family (unset: found from the pipeline's class; LoRAs need it set)."""
    quantize: Quantization | None = None
    """Load the denoiser quantised: ``nf4`` (bitsandbytes), ``fp8`` (torchao), ``gguf`` (a
    ``.gguf`` single-file ``source``, with ``config`` naming the rest of the model)."""
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
    edit_model: str | None = None
    """The preset Edit and /edit run (FLUX.1 Kontext, FLUX.2, Qwen-Image-Edit); unset: no Edit."""
    ip_adapter: IPAdapterSettings | None = None
    """Unset: image prompts and references are accepted with a warning and have no effect."""
    structure: StructureSettings | None = None
    """The ControlNet of Retexture and ``--structure``; unset: neither is offered."""

    @model_validator(mode="after")
    def _quantized_needs_a_family(self) -> ModelPreset:
        if self.quantize is not None and self.family is None:
            raise ValueError(f'quantize = "{self.quantize}" needs family (e.g. family = "flux1")')
        if self.quantize == "gguf" and (
            not self.source.lower().endswith(".gguf") or self.config is None
        ):
            raise ValueError(
                'quantize = "gguf" needs a .gguf file as source and config naming the rest of '
                'the model (a diffusers folder or hub id, e.g. "black-forest-labs/FLUX.1-dev")'
            )
        return self

    @property
    def pixel_area(self) -> int:
        return self.resolution * self.resolution

    def cheaper_run(self) -> ModelPreset:
        """This preset with its draft steps and resolution (half of each when unset): what
        ``--draft`` runs when no ``draft_model`` is named."""
        cheaper = {
            "steps": self.draft_steps or max(1, self.steps // 2),
            "resolution": self.draft_resolution or max(64, self.resolution // 2 // 64 * 64),
        }
        return self.model_copy(update=cheaper)


class PathSettings(Section):
    data_dir: Path = Path("imagine-data")

    @property
    def models(self) -> Path:
        return self.data_dir / "models"

    @property
    def store(self) -> Path:
        """The image store: every input and output image, by sha256."""
        return self.data_dir / "store"


UpscaleModel = Literal["x2plus", "x4plus", "general_x4v3"]
UPSCALE_MODELS: tuple[UpscaleModel, ...] = get_args(UpscaleModel)


class UpscaleSettings(Section):
    """Real-ESRGAN weight files (unset: Lanczos with a warning) and how to run them."""

    x2plus_weights: Path | None = None
    x4plus_weights: Path | None = None
    general_x4v3_weights: Path | None = None
    subtle_model: UpscaleModel = "x2plus"
    tile: int = Field(512, ge=0, le=8192)
    tile_overlap: int = Field(32, ge=0, le=1024)
    max_pixels: int = Field(8192 * 8192, ge=64 * 64)

    @field_validator("x2plus_weights", "x4plus_weights", "general_x4v3_weights", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # IMAGINE_UPSCALE__X2PLUS_WEIGHTS= (empty) unsets a path set in a file.
        return None if value == "" else value

    def weights(self, model: UpscaleModel) -> Path | None:
        """The configured weights file of ``model``, if any."""
        path: Path | None = getattr(self, f"{model}_weights")
        return path


class DiscordSettings(Section):
    """Where the bot answers and who may press which buttons. The token comes from DISCORD_TOKEN."""

    allowed_guilds: tuple[int, ...] = ()
    allowed_channels: tuple[int, ...] = ()
    direct_messages: bool = False
    owner_only_buttons: bool = True
    button_roles: tuple[int, ...] = ()
    admin_roles: tuple[int, ...] = ()
    channel_defaults: dict[str, str] = Field(default_factory=dict)
    progress_interval: float = Field(2.0, ge=1.0, le=60.0)
    confirm_above: int = Field(4, ge=1, le=40)
    delivery_retries: int = Field(3, ge=0, le=10)


class FetchSettings(Section):
    """Limits on the images users give by URL or attachment (``engine/images/fetch.py``)."""

    allowed_hosts: tuple[str, ...] = ("cdn.discordapp.com", "media.discordapp.net")
    """Hosts images may be fetched from (and redirected to); ``*.example.com`` for subdomains."""
    max_bytes: int = Field(25 * 1024 * 1024, ge=1024)
    max_pixels: int = Field(40_000_000, ge=64 * 64)
    max_side: int = Field(1024, ge=64, le=8192)
    max_images: int = Field(8, ge=1, le=64)
    max_redirects: int = Field(3, ge=0, le=10)
    connect_timeout: float = Field(5.0, gt=0)
    read_timeout: float = Field(10.0, gt=0)
    total_timeout: float = Field(30.0, gt=0)

    @field_validator("allowed_hosts")
    @classmethod
    def _plain_hosts(cls, hosts: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = []
        for host in hosts:
            name = host.strip().lower().rstrip(".")
            bare = name.removeprefix("*.")
            if not bare or any(c in bare for c in "/:@*[]% "):
                raise ValueError(f"{quoted(host)} is not a host name (like cdn.discordapp.com)")
            cleaned.append(name)
        return tuple(cleaned)


class ActionSettings(Section):
    """How the buttons' actions (vary, upscale, zoom, pan, enhance) derive their jobs."""

    vary_subtle_strength: float = Field(0.35, gt=0.0, le=1.0)
    vary_strong_strength: float = Field(0.7, gt=0.0, le=1.0)
    grid_variation: Literal["subtle", "strong"] = "strong"
    upscale_factor: Literal[2, 4] = 2
    creative_strength: float = Field(0.3, gt=0.0, le=1.0)
    enhance_strength: float = Field(0.55, gt=0.0, le=1.0)
    hd_strength: float = Field(0.35, gt=0.0, le=1.0)
    pan_fraction: float = Field(0.5, gt=0.0, le=1.0)
    pixel_budget: float = Field(1.5, ge=0.25, le=4.0)
    feather: float = Field(0.03, ge=0.0, le=0.25)


class PluginSettings(Section):
    folder: Path | None = None
    blocked: tuple[str, ...] = ()


class DatabaseSettings(Section):
    """Where jobs, quotas and preferences are kept: one SQLite file."""

    url: str = ""
    """A ``sqlite:///`` URL or the database file's path; empty means ``<data_dir>/imagine.db``."""
    busy_timeout: float = Field(30.0, gt=0, le=3600)
    """Seconds a writer waits for another writer's lock before giving up."""

    @field_validator("url")
    @classmethod
    def _sqlite_only(cls, value: str) -> str:
        scheme = value.partition("://")[0] if "://" in value else "sqlite"
        if scheme.split("+")[0].lower() != "sqlite":
            raise ValueError(
                f"imagine-bot keeps its data in SQLite, not {scheme}: give a sqlite:/// URL or "
                "the path of the database file (empty: <data_dir>/imagine.db)"
            )
        return value

    def resolved_url(self, data_dir: Path) -> str:
        if "://" in self.url:
            return self.url
        return f"sqlite:///{Path(self.url).expanduser() if self.url else data_dir / 'imagine.db'}"


class QueueSettings(Section):
    """Caps that keep one person from filling the queue, and crash recovery."""

    max_running_per_user: int = Field(3, ge=1, le=100)
    max_waiting_per_user: int = Field(10, ge=0, le=1000)
    max_waiting_total: int = Field(500, ge=1, le=100_000)
    retry_limit: int = Field(2, ge=0, le=10)
    """How often a job that was running when the process died is started again."""


class Settings(Section):
    default_model: str = "tiny"
    paths: PathSettings = PathSettings()
    engine: EngineSettings = EngineSettings()
    upscale: UpscaleSettings = UpscaleSettings()
    plugins: PluginSettings = PluginSettings()
    discord: DiscordSettings = DiscordSettings()
    fetch: FetchSettings = FetchSettings()
    actions: ActionSettings = ActionSettings()
    models: dict[str, ModelPreset] = Field(default_factory=dict)
    loras: dict[str, LoraPreset] = Field(default_factory=dict)
    database: DatabaseSettings = DatabaseSettings()
    queue: QueueSettings = QueueSettings()
    quota: QuotaSettings = QuotaSettings()
    workers: WorkerSettings = WorkerSettings()
    web: WebSettings = WebSettings()
    logging: LogSettings = LogSettings()
    describe: DescribeSettings = DescribeSettings()
    safety: SafetySettings = SafetySettings()
    fix: FixSettings = FixSettings()
    provenance: ProvenanceSettings = ProvenanceSettings()

    @field_validator("models")
    @classmethod
    def _preset_names_fit_buttons(cls, models: dict[str, ModelPreset]) -> dict[str, ModelPreset]:
        for name in models:
            if refusal := PRESET_NAME.refusal(name):
                raise ValueError(refusal)
        return models

    @model_validator(mode="after")
    def _references_exist(self) -> Settings:
        known = ", ".join(sorted(self.models)) or "none defined"
        if self.default_model not in self.models:
            raise InvalidReference(
                "default_model", f"{self.default_model!r} is not a [models.*] preset ({known})"
            )
        for name, preset in self.models.items():
            for field in ("draft_model", "edit_model"):
                named = getattr(preset, field)
                if named is not None and named not in self.models:
                    raise InvalidReference(
                        f"models.{name}.{field}", f"{named!r} is not a [models.*] preset ({known})"
                    )
            edit = self.models.get(preset.edit_model or "")
            if edit is not None and edit.family not in (None, *EDIT_FAMILIES):
                raise InvalidReference(
                    f"models.{name}.edit_model",
                    f"{preset.edit_model!r} is a {edit.family} model; an edit model is FLUX.1 "
                    "Kontext (flux1), FLUX.2 (flux2) or Qwen-Image-Edit (qwen_image)",
                )
        return self
