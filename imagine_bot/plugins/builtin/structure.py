"""Retexture and ``--structure URL``: keep a picture's structure, change its look
(``engine/gpu/structure.py``; the preset's ``[models.NAME.structure]`` ControlNet).

``--structure`` takes an image link (fetched like an image prompt) and ``--structure-weight``
0-2 (1) scales the ControlNet. Retexture, under one image, opens the prompt to edit: the
edited prompt is the new look, the image the structure; four images at its size.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from imagine_bot.config import Settings
from imagine_bot.engine.errors import PromptError, UserError
from imagine_bot.engine.spec import DraftSpec, GenerationSpec, ReferenceImage
from imagine_bot.plugins import hookimpl
from imagine_bot.plugins.actions import Action, ActionRequest
from imagine_bot.plugins.builtin.actions import diffusion_size, new_seed
from imagine_bot.plugins.flags import Flag

RETEXTURE = "retexture"
_URL = re.compile(r"^https?://", re.IGNORECASE)
FLAGS = (
    Flag("structure", "text", help="keep the edges or depth of this image (a link)"),
    Flag(
        "structure-weight",
        "number",
        default=1,
        minimum=0,
        maximum=2,
        help="how strictly --structure is kept, 0-2",
    ),
)


@hookimpl(trylast=True)
def imagine_register_flags(register: Callable[[Flag], None]) -> None:
    for flag in FLAGS:
        register(flag)


@hookimpl(trylast=True)
def imagine_transform(draft: DraftSpec, settings: Settings) -> None:
    if draft.structure is not None or not draft.has_flag("structure"):
        return
    link = str(draft.flag("structure"))
    if not _URL.match(link):
        raise PromptError(
            "--structure takes an image link (https://…); for an image of the bot's, use the "
            "Retexture button under it.",
            flag="structure",
        )
    draft.structure = ReferenceImage(
        role="structure", source=link, weight=float(draft.flag("structure-weight"))
    )


@hookimpl(trylast=True)
def imagine_validate(spec: GenerationSpec, settings: Settings) -> None:
    if spec.structure is None:
        return
    if settings.models[spec.model].structure is None:
        raise UserError(
            f"The model {spec.model!r} has no ControlNet (models.{spec.model}.structure in the "
            "settings), so it cannot keep a picture's structure."
        )


def retexture(draft: DraftSpec, request: ActionRequest) -> None:
    assert request.source is not None
    draft.structure = ReferenceImage(
        role="structure",
        source=f"image {request.index}",
        sha256=request.source.sha256,
        weight=float(draft.flag("structure-weight")),
    )
    draft.source = None  # a new picture from noise, guided by the ControlNet
    draft.width, draft.height = diffusion_size(
        request.parent.width, request.parent.height, request.budget
    )
    new_seed(draft)


def has_controlnet(settings: Settings) -> Callable[[GenerationSpec], bool]:
    def applies(spec: GenerationSpec) -> bool:
        preset = settings.models.get(spec.model)
        return preset is not None and preset.structure is not None

    return applies


@hookimpl(trylast=True)
def imagine_register_actions(register: Callable[[Action], None], settings: Settings) -> None:
    register(
        Action(
            RETEXTURE,
            "Retexture",
            "image",
            retexture,
            applies=has_controlnet(settings),
            title="Retextured",
            help="the same structure with a new look: edit the prompt",
            edit_prompt="always",
        )
    )
