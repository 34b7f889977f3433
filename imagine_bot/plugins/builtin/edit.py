"""Edit with words: Edit under one image, /edit and ``imagine-bot edit`` (``engine/gpu/edit.py``).

The member says what to change ("make it night"); the preset's ``edit_model`` (FLUX.1 Kontext,
FLUX.2, Qwen-Image-Edit) repaints the picture as told. The instruction is the job's prompt, so
it is parsed like one (``--oref`` links add pictures for multi-reference editing); the job has
the picture's ratio at the edit model's resolution and four seeds, like Vary.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from imagine_bot.config import Settings
from imagine_bot.engine.errors import PromptError, UserError
from imagine_bot.engine.images.store import StoredImage
from imagine_bot.engine.spec import EDIT, DraftSpec, GenerationSpec, ReferenceImage, SourceImage
from imagine_bot.plugins import hookimpl
from imagine_bot.plugins.actions import INSTRUCTION_LIMIT, Action, ActionRequest
from imagine_bot.plugins.builtin.actions import new_seed

if TYPE_CHECKING:
    from imagine_bot.plugins.planner import JobPlanner

MAX_PICTURES = 4
"""The picture to edit and up to three references, as the multi-reference models take."""
NEUTRAL_PROMPT = "a picture"
"""The prompt of the stand-in parent of an outside picture: only its preset and size count."""
EDIT_SIZE_STEP = 16
"""Edit pipelines want sides in multiples of 16 (the VAE's 8, packed 2x2)."""


def find_edit_model(settings: Settings, model: str) -> str | None:
    """The preset that edits the images of preset ``model``: its ``edit_model``, or itself when
    it is one (an edit of an edit); None when there is none."""
    preset = settings.models.get(model)
    if preset is not None and preset.edit_model is not None:
        return preset.edit_model
    if any(other.edit_model == model for other in settings.models.values()):
        return model
    return None


def edit_model_of(settings: Settings, model: str) -> str:
    """``find_edit_model``; ``UserError`` naming the setting when there is none."""
    found = find_edit_model(settings, model)
    if found is None:
        raise UserError(
            f"The model {model!r} has no edit model: set models.{model}.edit_model in the "
            "settings to a preset of FLUX.1 Kontext, FLUX.2 or Qwen-Image-Edit."
        )
    return found


def has_edit_model(settings: Settings) -> Callable[[GenerationSpec], bool]:
    def applies(spec: GenerationSpec) -> bool:
        return find_edit_model(settings, spec.model) is not None

    return applies


def edit(draft: DraftSpec, request: ActionRequest) -> None:
    settings = request.settings
    draft.model = edit_model_of(settings, request.parent.model)
    draft.preset = settings.models[draft.model]
    # The parent's image prompts were for its own model; the pictures an edit reads are the
    # ones given with it (/edit's further attachments, --oref).
    draft.references = list(request.references)
    draft.reference_scales = {}
    budget = min(draft.preset.pixel_area, settings.engine.max_pixels)
    draft.width, draft.height = edit_size(request.parent.width, request.parent.height, budget)
    new_seed(draft)


def edit_size(width: int, height: int, budget: int) -> tuple[int, int]:
    """``width`` x ``height`` scaled to ``budget`` pixels (up or down), in multiples of 16."""
    scale = math.sqrt(budget / (width * height))
    step = EDIT_SIZE_STEP
    return (
        max(step, int(width * scale) // step * step),
        max(step, int(height * scale) // step * step),
    )


@hookimpl(trylast=True)
def imagine_transform(draft: DraftSpec, settings: Settings) -> None:
    # Before image_refs (manager.BUILTIN_PLUGINS): an edit's --oref pictures are edit inputs,
    # not IP-Adapter references.
    if draft.action != EDIT:
        return
    given = [ref.ref for ref in draft.flag("oref") or ()]
    links = [ReferenceImage(role="subject", source=link) for link in given]
    draft.references = [*draft.references, *links]
    if 1 + len(draft.references) > MAX_PICTURES:
        raise PromptError(
            f"An edit takes at most {MAX_PICTURES} pictures: the one to edit and "
            f"{MAX_PICTURES - 1} references.",
            flag="oref",
        )


@hookimpl(trylast=True)
def imagine_validate(spec: GenerationSpec, settings: Settings) -> None:
    if spec.action != EDIT:
        return
    if not spec.prompt.strip():
        raise UserError("Say what to change, for example: make it night.")
    if len(spec.prompt) > INSTRUCTION_LIMIT:
        raise UserError(
            f"The instruction is {len(spec.prompt)} characters long; an edit takes at most "
            f"{INSTRUCTION_LIMIT}."
        )


@hookimpl(trylast=True)
def imagine_register_actions(register: Callable[[Action], None], settings: Settings) -> None:
    register(
        Action(
            EDIT,
            "Edit",
            "image",
            edit,
            applies=has_edit_model(settings),
            title="Edited",
            help="say what to change (make it night, remove the car): four edits",
            edit_prompt="always",
            instruction="What to change",
        )
    )


async def edit_picture(
    planner: JobPlanner,
    picture: StoredImage,
    instruction: str,
    *,
    model: str | None = None,
    references: Sequence[ReferenceImage] = (),
) -> GenerationSpec:
    """The edit of a picture no job here made (/edit, ``imagine-bot edit``): a job of the
    preset ``model`` (else the default) at the picture's size stands for its parent."""
    (parent,) = await planner.plan(NEUTRAL_PROMPT, model=model)
    edit_model_of(planner.settings, parent.model)  # says which setting to add, if none
    parent = parent.model_copy(update={"width": picture.width, "height": picture.height})
    source = SourceImage(sha256=picture.sha256)
    (spec,) = await planner.derive(
        parent, EDIT, 1, source, prompt=instruction, references=references
    )
    return spec
