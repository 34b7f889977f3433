"""Actions behind message buttons: how one is declared, and the registry the bot reads.

An action derives a new job from a finished one (the parent). Plugins add actions through the
``imagine_register_actions`` hook; the built-in set (vary, upscale, zoom, pan, reroll, enhance)
is registered the same way (``plugins/builtin/actions.py``). ``JobPlanner.derive`` runs one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from imagine_bot.config import ModelPreset, Settings
from imagine_bot.config.names import ACTION_NAME
from imagine_bot.engine.errors import UserError
from imagine_bot.engine.spec import (
    INHERITED_FIELDS,
    DraftSpec,
    FlagValue,
    GenerationSpec,
    Prompt,
    ReferenceImage,
    SourceImage,
)

INSTRUCTION_LIMIT = 500
"""The most characters of an instruction form's text (Edit's "what to change")."""
ActionScope = Literal["grid", "image"]
"""Where an action's button is shown: under a grid of images, or under one image."""

PromptEditing = Literal["never", "remix", "always"]
"""When pressing the button first opens the prompt for editing: never, in the member's Remix
mode, or always (Custom Zoom, whose factor is a flag of the prompt)."""


@dataclass(frozen=True)
class ActionRequest:
    """What an action's ``prepare`` knows about the button press."""

    parent: GenerationSpec
    """The spec of the job whose message carries the button."""
    index: int
    """The image the button is for, 1-4 (its seed is ``parent.seeds[index - 1]``); 0 for an
    action on the whole grid."""
    source: SourceImage | None
    """That image, in the image store (None for grid actions such as reroll)."""
    settings: Settings
    preset: ModelPreset
    """The defaults in effect for the parent's model (``--draft`` applied), for size budgets."""
    mask: SourceImage | None = None
    """The region a member marked on ``source`` (Vary (Region)), in the image store."""
    references: tuple[ReferenceImage, ...] = ()
    """Further pictures given with the press, in the image store (/edit's attachments)."""

    @property
    def budget(self) -> int:
        """The most pixels a vary or outpainting result may have (``actions.pixel_budget``
        times the preset's area, never above ``engine.max_pixels``)."""
        budget = int(self.preset.pixel_area * self.settings.actions.pixel_budget)
        return min(budget, self.settings.engine.max_pixels)

    @property
    def seed(self) -> int:
        """The seed of the chosen image (the grid's first for grid actions)."""
        return self.parent.seeds[max(0, self.index - 1)]


Prepare = Callable[[DraftSpec, ActionRequest], None]
"""Pre-sets fields of the new draft before the transform hooks run (which only fill what is
still ``None``). ``draft.action`` and ``draft.source`` are already set; with ``inherit``, so
are the parent's prompt, model, size, steps, guidance, scheduler, lane and flag effects."""


def _always(spec: GenerationSpec) -> bool:
    return True


@dataclass(frozen=True)
class Action:
    """One button action.

    ``label`` is the button's text; for a ``per_image`` action under a grid the bot shows one
    button per image, the label followed by the image's number (``V1`` ... ``V4``). ``title``
    is what the message of the job it makes calls it ("Upscaled (Subtle)").
    """

    name: str
    label: str
    scope: ActionScope
    prepare: Prepare
    per_image: bool = False
    """Under a grid: one button per image (needs an index 1-4 and that image as source)."""
    needs_source: bool = True
    """The action starts from an image of the parent (everything but reroll)."""
    inherit: bool = True
    """Start from the parent's resolved values; False re-resolves everything from the flags
    (enhance, which drops ``--draft``)."""
    applies: Callable[[GenerationSpec], bool] = _always
    """Whether the button belongs under a message of this spec (make_square: not square)."""
    emoji: str | None = None
    help: str = ""
    title: str | None = None
    """The result message's name for the job ("Zoomed Out 2x"); None: the label; "" for none."""
    edit_prompt: PromptEditing = "never"
    """Whether the press opens the prompt for editing before the job is queued; the edited
    prompt replaces the parent's (``JobPlanner.derive(prompt=...)``)."""
    instruction: str = ""
    """The label of the form's field when it asks for an instruction instead (Edit's "What to
    change"): the field opens empty, and what is typed is the new job's prompt."""
    form_suffix: str = ""
    """Added to the prompt the form opens with when it lacks its flag (Custom Zoom's
    ``--zoom 2``)."""

    def applies_to(self, spec: GenerationSpec) -> bool:
        return self.applies(spec)


class ActionRegistry:
    """All known actions, by name, in registration order."""

    def __init__(self) -> None:
        self._actions: dict[str, Action] = {}

    def register(self, action: Action) -> None:
        """Add ``action``; ``ValueError`` saying why when its name cannot be a button's."""
        refusal = ACTION_NAME.refusal(action.name)
        if refusal is not None:
            raise ValueError(refusal)
        if action.name in self._actions:
            raise ValueError(f"the action {action.name!r} is already registered")
        self._actions[action.name] = action

    def __iter__(self) -> Iterator[Action]:
        return iter(self._actions.values())

    def __contains__(self, name: object) -> bool:
        return name in self._actions

    def __getitem__(self, name: str) -> Action:
        try:
            return self._actions[name]
        except KeyError:
            raise UserError(f"There is no action {name!r} on this server any more.") from None

    def title(self, name: str) -> str:
        """What a message calls a job made by the action ``name`` ("" for a prompt's job)."""
        action = self._actions.get(name)
        if action is None:
            return ""
        return action.label if action.title is None else action.title

    def for_message(self, spec: GenerationSpec, scope: ActionScope) -> list[Action]:
        """The actions whose buttons go under a ``scope`` message of a job with ``spec``."""
        return [a for a in self if a.scope == scope and a.applies_to(spec)]


def parent_preset(settings: Settings, parent: GenerationSpec) -> ModelPreset:
    """The preset the parent ran with: its model's, made cheaper when it was a ``--draft`` of
    that same model (a separate draft model is its own preset)."""
    preset = settings.models.get(parent.model)
    if preset is None:
        raise UserError(
            f"The model {parent.model!r} of that job is no longer configured on this server."
        )
    is_draft_model = any(other.draft_model == parent.model for other in settings.models.values())
    if parent.flags.get("draft") and not is_draft_model and preset.draft_model is None:
        preset = preset.cheaper_run()
    return preset


def derived_draft(
    action: Action,
    request: ActionRequest,
    flag_defaults: dict[str, FlagValue],
    edited: Prompt | None = None,
) -> DraftSpec:
    """The draft of ``action``'s job: the parent's prompt and flags, its resolved values when
    the action inherits them, then the action's own fields.

    An ``edited`` prompt (Remix) replaces the parent's, and then nothing is inherited: the
    transform hooks resolve text, model, size, steps and the rest from its flags, as for a new
    prompt (they are the parent's, preferences included, unless the member changed them).
    """
    parent = request.parent
    prompt = edited or Prompt(
        raw=parent.typed_prompt or parent.prompt,
        parts=parent.parts,
        image_prompts=parent.image_prompts,
        flags=dict(parent.flags),
    )
    draft = DraftSpec(
        prompt=prompt, flag_defaults=flag_defaults, action=action.name, source=request.source
    )
    for name in parent.flags:
        # Honoured (or warned about) when the parent was planned; the draft inherits the
        # values they resolved to, so no "has no effect" warning again.
        draft.flag(name)
    # Always the parent's stored images, never the URLs again: they may have expired.
    draft.references = list(parent.references)
    draft.reference_scales = dict(parent.reference_scales)
    if action.inherit and edited is None:
        draft.positive, draft.negative = parent.prompt, parent.negative_prompt
        draft.preset = request.preset
        for name in INHERITED_FIELDS:
            setattr(draft, name, getattr(parent, name))
    action.prepare(draft, request)
    return draft
