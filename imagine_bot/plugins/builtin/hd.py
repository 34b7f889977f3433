"""``--hd`` and Rerun as HD: twice the side, through a second pass (``engine/gpu/generate.py``).

``--hd`` renders the prompt at half its size, then enlarges and repaints it at low strength
(A1111's hires fix); the job's size is twice the preset's side. Rerun as HD, under one image,
runs that second pass on the chosen image: its first pass is already done.
"""

from __future__ import annotations

from collections.abc import Callable

from imagine_bot.config import Settings
from imagine_bot.engine.errors import UserError
from imagine_bot.engine.spec import HD_FACTOR, DraftSpec, GenerationSpec
from imagine_bot.plugins import hookimpl
from imagine_bot.plugins.actions import Action, ActionRequest
from imagine_bot.plugins.flags import Flag

RERUN_HD = "rerun_hd"
FLAG = Flag("hd", help="twice the side, through a second pass that repaints the detail")


@hookimpl(trylast=True)
def imagine_register_flags(register: Callable[[Flag], None]) -> None:
    register(FLAG)


@hookimpl(trylast=True)
def imagine_transform(draft: DraftSpec, settings: Settings) -> None:
    # After aspect (manager.BUILTIN_PLUGINS): the size is the preset's. A job derived from an
    # --hd job inherits its hd and its size, already doubled.
    if draft.hd is not None or not draft.flag("hd") or draft.source is not None:
        return
    assert draft.width is not None and draft.height is not None, "aspect runs before hd"
    draft.hd = settings.actions.hd_strength
    draft.width, draft.height = draft.width * HD_FACTOR, draft.height * HD_FACTOR


@hookimpl(trylast=True)
def imagine_validate(spec: GenerationSpec, settings: Settings) -> None:
    pixels = settings.engine.max_pixels
    if spec.hd is not None and spec.width * spec.height > pixels:
        raise UserError(
            f"An HD image of {spec.width}x{spec.height} would be larger than this server "
            f"allows ({pixels:,} pixels)."
        )


def rerun_hd(draft: DraftSpec, request: ActionRequest) -> None:
    parent = request.parent
    draft.hd = draft.strength = request.settings.actions.hd_strength
    draft.width, draft.height = parent.width * HD_FACTOR, parent.height * HD_FACTOR
    draft.seed = request.seed
    draft.count = 1
    draft.stop = 100  # the second pass always finishes


def not_hd(spec: GenerationSpec) -> bool:
    """HD and upscaled images are the large copy already."""
    return spec.hd is None and spec.upscale is None


ACTION = Action(
    RERUN_HD,
    "Rerun as HD",
    "image",
    rerun_hd,
    applies=not_hd,
    title="HD",
    help="this image at twice the side, with its detail repainted (hires fix)",
)


@hookimpl(trylast=True)
def imagine_register_actions(register: Callable[[Action], None]) -> None:
    register(ACTION)
