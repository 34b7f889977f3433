"""The domain types a job passes through: Prompt -> DraftSpec -> GenerationSpec -> result."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, field_validator

from imagine_bot.config import ModelPreset

GRID_SIZE = 4
SEED_LIMIT = 2**32
"""Seeds are 0..SEED_LIMIT-1, as Midjourney's --seed."""

FlagValue = bool | int | float | str | tuple[str, ...] | tuple["WeightedRef", ...]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WeightedRef(_Frozen):
    """A reference image (URL, style code or ``random``) with its ``::`` weight."""

    ref: str
    weight: float = 1.0


ImageRole = Literal["image", "style", "subject"]
"""What an input image steers: ``image`` prompts (everything, ``--iw``), ``style``
(``--sref``, ``--sw``) or ``subject`` (``--cref``/``--oref``, ``--cw``/``--ow``)."""


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
    scheduler: str | None = None
    seed: int | None = None
    lane: str | None = None
    attachments: tuple[ReferenceImage, ...] = ()
    """Images given with the command rather than in its text (an attachment, ``--image``)."""
    references: list[ReferenceImage] = Field(default_factory=list)
    """The images the job will use; the planner fetches those without a sha256 before
    freezing. Built-in: ``image_refs``, from the image prompts, the flags and the attachments."""
    reference_scales: dict[str, float] = Field(default_factory=dict)
    """The IP-Adapter scale of each role in ``references``."""
    extras: dict[str, Any] = Field(default_factory=dict)
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
        return GenerationSpec.model_validate(
            {
                "prompt": resolved.pop("positive"),
                "negative_prompt": resolved.pop("negative"),
                **resolved,
                "parts": self.prompt.parts,
                "image_prompts": self.prompt.image_prompts,
                "flags": self.prompt.flags,
                "seeds": tuple((seed + k) % SEED_LIMIT for k in range(GRID_SIZE)),
                "references": tuple(self.references),
                "reference_scales": self.reference_scales,
                "extras": self.extras,
                "warnings": (*self.warnings, *ignored),
            }
        )


_RESOLVED_FIELDS = (
    "positive",
    "negative",
    "model",
    "width",
    "height",
    "steps",
    "guidance",
    "scheduler",
    "seed",
    "lane",
)


class SourceImage(_Frozen):
    """An input image of an action (vary, zoom, pan, upscale), kept in the image store."""

    sha256: str
    job_id: str | None = None
    """The job that generated it, when it is one of our own images."""
    index: int | None = None
    """Its position (1-4) in that job's grid."""


class GenerationSpec(_Frozen):
    """Exactly what the engine runs; JSON-serialisable and stored with the job.

    Image ``k`` of the grid uses ``seeds[k]``, so any one image can be regenerated alone.
    """

    prompt: str
    parts: tuple[PromptPart, ...]
    negative_prompt: str
    image_prompts: tuple[str, ...] = ()
    flags: dict[str, FlagValue] = Field(default_factory=dict)
    model: str
    width: int
    height: int
    steps: int
    guidance: float
    scheduler: str
    seeds: tuple[int, ...]
    lane: str
    action: str = "imagine"
    """How the job came about: ``imagine`` for a prompt, else the button action's name."""
    source: SourceImage | None = None
    """The image an action starts from; ``None`` for text-to-image."""
    strength: float | None = None
    """How far an image-to-image action may move from ``source`` (0..1)."""
    references: tuple[ReferenceImage, ...] = ()
    """Image prompts and style/subject references, in the image store."""
    reference_scales: dict[str, float] = Field(default_factory=dict)
    """The IP-Adapter scale of each role in ``references`` (``image``, ``style``, ``subject``)."""
    extras: dict[str, Any] = Field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @field_validator("references")
    @classmethod
    def _references_are_stored(
        cls, references: tuple[ReferenceImage, ...]
    ) -> tuple[ReferenceImage, ...]:
        unresolved = [ref.source for ref in references if ref.sha256 is None]
        if unresolved:
            raise ValueError(f"reference images not in the image store: {', '.join(unresolved)}")
        return references


class GenerationResult:
    """What the worker produced for one spec; post-process hooks add to it in place."""

    def __init__(self, spec: GenerationSpec, images: list[Image.Image]) -> None:
        if len(images) != len(spec.seeds):
            raise RuntimeError(
                f"the generate stage returned {len(images)} images for {len(spec.seeds)} seeds"
            )
        self.spec = spec
        self.images = images
        self.grid: Image.Image | None = None
        self.parameters: list[str] = []
        """Per-image generation parameters (A1111 text), written into each PNG."""
        self.gpu_seconds = 0.0
