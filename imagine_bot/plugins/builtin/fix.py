"""Fix Faces and ``--fix faces|hands``: faces or hands found and repainted
(``engine/gpu/fix.py``; ``[fix]`` settings).

``--fix`` repaints them in every image of a prompt's grid; the Fix Faces button, in the one
image it is under (a picture with no face fails, uncharged, saying so).
"""

from __future__ import annotations

from collections.abc import Callable

from imagine_bot.config import Settings
from imagine_bot.engine.spec import DraftSpec, GenerationSpec
from imagine_bot.plugins import hookimpl
from imagine_bot.plugins.actions import Action, ActionRequest
from imagine_bot.plugins.flags import Flag

FIX_FACES = "fix_faces"
FLAG = Flag(
    "fix",
    "choice",
    choices=("faces", "hands"),
    help="repaint the faces or hands in the images at full detail",
)


@hookimpl(trylast=True)
def imagine_register_flags(register: Callable[[Flag], None]) -> None:
    register(FLAG)


@hookimpl(trylast=True)
def imagine_transform(draft: DraftSpec, settings: Settings) -> None:
    # Only a prompt's images (and a reroll of them) are fixed; a job made from one image
    # (vary, zoom...) is not, unless it is Fix Faces itself.
    if draft.fix is not None or draft.source is not None:
        return
    target = draft.flag("fix")
    if target:
        draft.fix = target
        draft.strength = settings.fix.strength


@hookimpl(trylast=True)
def imagine_validate(spec: GenerationSpec, settings: Settings) -> None:
    if spec.fix is not None:
        # Imported here: planning without --fix never loads OpenCV.
        from imagine_bot.engine.images.detail import detector_file

        detector_file(spec.fix, settings.fix)


def fix_faces(draft: DraftSpec, request: ActionRequest) -> None:
    draft.fix = "faces"
    draft.strength = request.settings.fix.strength
    draft.width, draft.height = request.parent.width, request.parent.height
    draft.seed = request.seed
    draft.count = 1


ACTION = Action(
    FIX_FACES,
    "Fix Faces",
    "image",
    fix_faces,
    title="Faces Fixed",
    help="repaint the faces in this image at full detail",
)


@hookimpl(trylast=True)
def imagine_register_actions(register: Callable[[Action], None]) -> None:
    register(ACTION)
