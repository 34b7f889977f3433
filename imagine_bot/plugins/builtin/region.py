"""Vary (Region): repaint the part of one image that a member marked, keeping the rest.

The button opens the web editor (``bot/exts/region``); its Submit, or ``imagine-bot
vary-region``, derives the job with the mask, and the member's edited prompt if any. The
result has the parent's size, four new seeds, and the region painted from noise.
"""

from __future__ import annotations

from collections.abc import Callable

from imagine_bot.engine.errors import UserError
from imagine_bot.engine.spec import DraftSpec
from imagine_bot.plugins import hookimpl
from imagine_bot.plugins.actions import Action, ActionRequest
from imagine_bot.plugins.builtin.actions import new_seed

VARY_REGION = "vary_region"


def vary_region(draft: DraftSpec, request: ActionRequest) -> None:
    if request.mask is None:
        raise UserError("Vary (Region) needs a region: mark it in the editor its button opens.")
    draft.mask = request.mask
    # The mask is the image's size; an edited prompt (Remix) resolves the rest afresh.
    draft.width, draft.height = request.parent.width, request.parent.height
    draft.strength = 1.0
    new_seed(draft)


ACTION = Action(
    VARY_REGION,
    "Vary (Region)",
    "image",
    vary_region,
    help="repaint a part of this image you mark, keeping the rest",
)


@hookimpl(trylast=True)
def imagine_register_actions(register: Callable[[Action], None]) -> None:
    register(ACTION)
