"""The domain types a job passes through: Prompt -> DraftSpec -> GenerationSpec -> result."""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from imagine_bot.config import ModelPreset
from imagine_bot.config.safety import ContentPolicy
from imagine_bot.config.settings import SchedulerName

GRID_SIZE = 4
HD_FACTOR = 2
"""An HD image (``--hd``, Rerun as HD) has this many times the side of its first pass."""
SEED_LIMIT = 2**32
"""Seeds are 0..SEED_LIMIT-1, as Midjourney's --seed."""


class Lane(StrEnum):
    """Queue lanes, highest priority first: a relax job starts only when no turbo or fast job
    waits. Turbo counts double against the quota, relax is free (``quota.*_multiplier``)."""

    TURBO = "turbo"
    FAST = "fast"
    RELAX = "relax"


class JobState(StrEnum):
    QUEUED = "queued"
    """Accepted and waiting for the GPU (the row exists before the member hears "queued")."""
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    """Images stored and GPU time charged; not yet posted."""
    FAILED = "failed"
    CANCELLED = "cancelled"
    DELIVERED = "delivered"
    """Succeeded, and the bot posted the result."""
    UNDELIVERED = "undelivered"
    """Succeeded, but posting the result failed (``error`` says why)."""


PENDING_STATES = frozenset({JobState.QUEUED, JobState.RUNNING})
SUCCESS_STATES = frozenset({JobState.SUCCEEDED, JobState.DELIVERED, JobState.UNDELIVERED})
"""The job made its images (and its GPU time was measured), posted or not."""

FixTarget = Literal["faces", "hands"]
"""What ``--fix`` and Fix Faces find and repaint."""
FlagValue = bool | int | float | str | tuple[str, ...] | tuple["WeightedRef", ...]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WeightedRef(_Frozen):
    """A reference image (URL, style code or ``random``) with its ``::`` weight."""

    ref: str
    weight: float = 1.0


ImageRole = Literal["image", "style", "subject", "structure"]
"""What an input image steers: ``image`` prompts (``--iw``), ``style`` (``--sref``, ``--sw``),
``subject`` (``--cref``/``--oref``) or ``structure`` (Retexture: a ControlNet's input)."""


class ReferenceImage(_Frozen):
    """An input image that steers a job's look, and the role it plays.

    Until the planner resolves it, only ``source`` (an https URL) may be known; a spec the
    engine runs always has ``sha256``, so the engine reads the image store, never the network.
    """

    role: ImageRole
    source: str
    """The URL or file name the user gave: shown to people, never fetched again."""
    weight: float = 1.0
    """Its ``::`` weight among the images of the same role."""
    sha256: str | None = None


class PromptPart(_Frozen):
    """One segment of a ``::`` multi-prompt and its weight."""

    text: str
    weight: float = 1.0


class LoraUse(_Frozen):
    """A ``[loras.NAME]`` preset a job applies, and at what weight."""

    name: str
    weight: float


class Prompt(_Frozen):
    """One parsed prompt: a single expansion of its ``{a, b}`` permutations."""

    raw: str
    parts: tuple[PromptPart, ...]
    image_prompts: tuple[str, ...] = ()
    flags: dict[str, FlagValue] = Field(default_factory=dict)
    """The flags the user wrote, by canonical name; defaults are not filled in here."""

    @property
    def text(self) -> str:
        return " ".join(part.text for part in self.parts if part.text)


class SourceImage(_Frozen):
    """An input image of an action (vary, zoom, pan, upscale), kept in the image store."""

    sha256: str
    job_id: str | None = None
    """The job that generated it, when it is one of our own images."""
    index: int | None = None
    """Its position (1-4) in that job's grid."""


class Placement(_Frozen):
    """Where the source image sits on a larger canvas that outpainting fills (zoom, pan).

    The source is resized to ``width`` x ``height`` and pasted with its top-left corner at
    ``(x, y)``; everything else on the canvas is generated, and a band of ``feather`` pixels
    inside the source's edge is blended so the seam does not show.
    """

    x: int = Field(ge=0)
    y: int = Field(ge=0)
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    feather: int = Field(0, ge=0)


class DraftSpec(BaseModel):
    """The editable job that transform hooks fill in, before it is frozen.

    Built-in transforms only fill fields that are still ``None``, so a plugin that runs before
    them decides a value simply by setting it.
    """

    model_config = ConfigDict(validate_assignment=True, extra="forbid")

    prompt: Prompt
    repeat: int = 0
    """Which run of ``--repeat`` this is, from 0."""
    flag_defaults: dict[str, FlagValue] = Field(default_factory=dict, repr=False)
    consumed: set[str] = Field(default_factory=set, repr=False)

    positive: str | None = None
    negative: str | None = None
    model: str | None = None
    preset: ModelPreset | None = None
    """The defaults in effect for ``model``, with ``--draft`` already applied."""
    width: int | None = None
    height: int | None = None
    steps: int | None = None
    guidance: float | None = None
    scheduler: SchedulerName | None = None
    seed: int | None = None
    lane: Lane | None = None
    attachments: tuple[ReferenceImage, ...] = ()
    """Images given with the command rather than in its text (an attachment, ``--image``)."""
    references: list[ReferenceImage] = Field(default_factory=list)
    """The images the job will use; the planner fetches those without a sha256 before
    freezing. Built-in: ``image_refs``, from the image prompts, the flags and the attachments."""
    reference_scales: dict[str, float] = Field(default_factory=dict)
    """The IP-Adapter scale of each role in ``references``."""
    blend: tuple[PromptPart, ...] | None = None
    loras: tuple[LoraUse, ...] | None = None
    chaos: float | None = None
    stop: int | None = None
    tile: bool | None = None
    count: int | None = None
    """How many images to make (``GRID_SIZE`` unless an action makes one)."""
    action: str | None = None
    source: SourceImage | None = None
    strength: float | None = None
    placement: Placement | None = None
    mask: SourceImage | None = None
    upscale: int | None = None
    hd: float | None = None
    fix: FixTarget | None = None
    structure: ReferenceImage | None = None
    warnings: list[str] = Field(default_factory=list)

    def flag(self, name: str) -> Any:
        """The flag's value (the user's, else its default), marking it as honoured."""
        self.consumed.add(name)
        return self.prompt.flags.get(name, self.flag_defaults.get(name))

    def has_flag(self, name: str) -> bool:
        return name in self.prompt.flags

    def freeze(self, ignored_flag_warning: Mapping[str, str]) -> GenerationSpec:
        """The immutable spec; every flag the user gave that no transform read becomes a warning."""
        resolved = {name: getattr(self, name) for name in _RESOLVED_FIELDS}
        missing = [name for name, value in resolved.items() if value is None]
        if missing:
            raise RuntimeError(f"transform hooks left {', '.join(missing)} unset")
        ignored = [
            ignored_flag_warning[name] for name in self.prompt.flags if name not in self.consumed
        ]
        seed = resolved.pop("seed")
        # Optional fields left unset take GenerationSpec's defaults.
        optional = {name: getattr(self, name) for name in _OPTIONAL_FIELDS}
        return GenerationSpec.model_validate(
            {
                "prompt": resolved.pop("positive"),
                "negative_prompt": resolved.pop("negative"),
                **resolved,
                **{name: value for name, value in optional.items() if value is not None},
                "typed_prompt": self.prompt.raw,
                "parts": self.prompt.parts,
                "image_prompts": self.prompt.image_prompts,
                "flags": self.prompt.flags,
                "seeds": tuple((seed + k) % SEED_LIMIT for k in range(self.count or GRID_SIZE)),
                "references": tuple(self.references),
                "reference_scales": self.reference_scales,
                "warnings": (*self.warnings, *ignored),
            }
        )


GenerateKind = Literal["txt2img", "img2img", "inpaint", "upscale", "fix", "edit", "describe"]

EDIT = "edit"
"""The action of Edit, /edit and ``imagine-bot edit``: the prompt is the instruction ("make it
night"), ``source`` the picture, ``model`` the preset's ``edit_model``; further pictures are
``subject`` references (multi-reference editing)."""

DESCRIBE = "describe"
"""The action of a /describe job: the worker writes prompts for ``source`` instead of images."""
DESCRIBE_MODEL = "/describe"
"""The ``model`` of a /describe job: no preset can have this name, so GPU-time estimates of
image jobs and of /describe jobs never mix."""


class GenerationSpec(_Frozen):
    """Exactly what the engine runs; JSON-serialisable and stored with the job.

    Image ``k`` of the grid uses ``seeds[k]``, so any one image can be regenerated alone.
    """

    prompt: str
    typed_prompt: str = ""
    """The prompt as the member typed it, flags and ``::`` weights included (one expansion of
    its ``{a, b}`` permutations, macros expanded): running it again gives this job."""
    parts: tuple[PromptPart, ...]
    negative_prompt: str
    image_prompts: tuple[str, ...] = ()
    flags: dict[str, FlagValue] = Field(default_factory=dict)
    model: str
    width: int
    height: int
    steps: int
    guidance: float
    scheduler: SchedulerName
    seeds: tuple[int, ...] = Field(min_length=1)
    lane: Lane
    blend: tuple[PromptPart, ...] = ()
    """``::`` multi-prompts: texts whose embeddings are blended by weight (see ``conditioning``).
    Empty: ``prompt`` is encoded as one text."""
    loras: tuple[LoraUse, ...] = ()
    """LoRA presets applied to the model for this job only (``--lora``)."""
    chaos: float = Field(0.0, ge=0.0, le=1.0)
    """Strength of the per-image conditioning noise that varies the images (``--chaos`` / 100)."""
    stop: int = Field(100, ge=1, le=100)
    """Percentage of the sampling steps to run before decoding (``--stop``)."""
    tile: bool = False
    """Seamless tiling: circular padding in the UNet's and VAE's convolutions (``--tile``)."""
    action: str = "imagine"
    """How the job came about: ``imagine`` for a prompt, else the button action's name."""
    source: SourceImage | None = None
    """The image an action starts from; ``None`` for text-to-image."""
    strength: float | None = None
    """How far an image-to-image action may move from ``source`` (0..1); with ``fix``, how far
    the repainted regions may."""
    references: tuple[ReferenceImage, ...] = ()
    """Image prompts and style/subject references, in the image store."""
    reference_scales: dict[str, float] = Field(default_factory=dict)
    """The IP-Adapter scale of each role in ``references`` (``image``, ``style``, ``subject``)."""
    placement: Placement | None = None
    """Outpainting: where ``source`` sits on the ``width`` x ``height`` canvas."""
    mask: SourceImage | None = None
    """Vary (Region): the region of ``source`` to repaint (white), same size; the rest is kept."""
    upscale: int | None = None
    """Enlarge ``source`` this many times first; then, with a ``strength``, an img2img pass."""
    hd: float | None = Field(None, gt=0.0, le=1.0)
    """HD (hires fix): the strength of the pass that repaints at ``width`` x ``height``, twice
    the side of the first pass (from a prompt) or of ``source`` (Rerun as HD)."""
    fix: FixTarget | None = None
    """Repaint the faces or hands found in the images (or in ``source``: Fix Faces)."""
    structure: ReferenceImage | None = None
    """Retexture: the stored image whose edges or depth a ControlNet keeps (weight: its scale)."""
    warnings: tuple[str, ...] = ()
    content_policy: ContentPolicy = "block"
    """What the worker does with images the safety classifier flags; set by the bot from the
    channel the result goes to (``safety.channel_policy``)."""

    @field_validator("references", "structure")
    @classmethod
    def _images_are_stored(cls, images: Any) -> Any:
        listed = images if isinstance(images, tuple) else (images,) if images else ()
        unresolved = [ref.source for ref in listed if ref.sha256 is None]
        if unresolved:
            raise ValueError(f"reference images not in the image store: {', '.join(unresolved)}")
        return images

    @property
    def steps_run(self) -> int:
        """The sampling steps that really run: an image-to-image pass at ``strength`` runs
        that share of ``steps`` (as diffusers does), ``--stop`` ends early, a pure upscale runs
        none."""
        if self.kind == "describe" or (self.kind == "upscale" and self.strength is None):
            return 0
        scheduled = self.steps
        if self.hd is not None and self.source is None:
            return steps_to_run(scheduled, self.stop) + max(1, int(self.steps * self.hd))
        if self.source is not None:
            strength = 1.0 if self.strength is None else self.strength
            scheduled = min(int(self.steps * strength), self.steps)
        return steps_to_run(scheduled, self.stop)

    @property
    def kind(self) -> GenerateKind:
        """Which pipeline the generate stage runs for this spec."""
        if self.action == DESCRIBE:
            return "describe"
        if self.source is None:
            return "txt2img"
        if self.upscale is not None:
            return "upscale"
        if self.action == EDIT:
            return "edit"
        if self.placement is not None or self.mask is not None:
            return "inpaint"
        return "fix" if self.fix is not None else "img2img"

    @property
    def batch_key(self) -> tuple[object, ...] | None:
        """Jobs with equal keys can share one pipeline call, each with its own prompt and seeds;
        None: this job runs alone (image inputs, ``::`` blends, ``--chaos`` and LoRAs are
        per-call state a batch cannot mix)."""
        if self.kind != "txt2img" or self.references or self.blend or self.chaos or self.loras:
            return None
        if self.hd is not None or self.fix is not None or self.structure is not None:
            return None
        return (
            self.model,
            self.width,
            self.height,
            self.steps,
            self.scheduler,
            self.guidance,
            self.stop,
            self.tile,
        )


def steps_to_run(total: int, stop: int) -> int:
    """How many of ``total`` sampling steps ``--stop stop`` (a percentage) runs."""
    return max(1, min(total, math.ceil(total * stop / 100)))


ACTION_FIELDS = frozenset({"action", "source", "strength", "placement", "mask", "upscale", "fix"})
"""Spec fields a button action sets itself: what it starts from and how far it may move."""
_COPIED_FIELDS = tuple(
    name
    for name in DraftSpec.model_fields
    if name in GenerationSpec.model_fields
    and name not in {"prompt", "references", "reference_scales", "warnings"}  # built by freeze
)
"""The draft fields ``freeze`` copies into the spec under the same name."""
_RESOLVED_FIELDS = (
    "positive",
    "negative",
    "seed",
    *(name for name in _COPIED_FIELDS if GenerationSpec.model_fields[name].is_required()),
)
"""What the transform hooks must have set before ``freeze``."""
_OPTIONAL_FIELDS = tuple(name for name in _COPIED_FIELDS if name not in _RESOLVED_FIELDS)
"""Left ``None``, these take ``GenerationSpec``'s defaults."""
INHERITED_FIELDS = tuple(name for name in _COPIED_FIELDS if name not in ACTION_FIELDS)
"""Spec fields an action's draft starts from (``positive``/``negative`` come from ``prompt``
and ``negative_prompt``); seeds and the ``ACTION_FIELDS`` are the action's to set."""
