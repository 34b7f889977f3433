"""The Midjourney buttons, as actions that derive a new job from a finished one.

Under a grid and under one image: ``reroll`` (Rerun: the same prompt and settings, four new
seeds, a new grid). Under a grid: ``variation`` (V1-V4: img2img from
image k, four new seeds). Under one image: ``vary_subtle`` / ``vary_strong`` (img2img, four new
seeds), ``upscale_subtle`` (Real-ESRGAN), ``upscale_creative`` (upscale, then a low-strength
img2img at the new size), ``zoom_out_2x`` / ``zoom_out_1_5x`` / ``zoom_custom`` (by ``--zoom``),
``make_square`` (not for square images) and ``pan_left`` / ``pan_right`` / ``pan_up`` /
``pan_down`` (outpainting), and ``enhance`` (only for ``--draft`` jobs: full quality, img2img
from the draft with its seed).
Strengths, factors and budgets are in the ``[actions]`` settings; the README's "Buttons"
section says what each one does.

Vary and outpainting results are at most ``actions.pixel_budget`` times the preset's pixel
area; outpainting sizes are multiples of 64, vary sizes multiples of 8.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable

from imagine_bot.engine.errors import PromptError
from imagine_bot.engine.images.outpaint import Direction, plan_pan, plan_square, plan_zoom
from imagine_bot.engine.spec import SEED_LIMIT, DraftSpec, GenerationSpec
from imagine_bot.plugins import hookimpl
from imagine_bot.plugins.actions import Action, ActionRequest

DIFFUSION_SIZE_STEP = 8
"""Latents are an eighth of the image: an img2img size must be a multiple of 8."""


def new_seed(draft: DraftSpec) -> None:
    draft.seed = secrets.randbelow(SEED_LIMIT)


def reroll(draft: DraftSpec, request: ActionRequest) -> None:
    new_seed(draft)


def vary(strength: Callable[[ActionRequest], float]) -> Callable[[DraftSpec, ActionRequest], None]:
    def prepare(draft: DraftSpec, request: ActionRequest) -> None:
        draft.strength = strength(request)
        # A Remix that changed --ar leaves the size to it (the aspect transform): the source
        # is re-framed to the new ratio on the worker instead of the edit being ignored.
        if draft.flag("ar") == request.parent.flags.get("ar", draft.flag_defaults.get("ar")):
            draft.width, draft.height = diffusion_size(
                request.parent.width, request.parent.height, request.budget
            )
        new_seed(draft)

    return prepare


def grid_strength(request: ActionRequest) -> float:
    actions = request.settings.actions
    strong = actions.grid_variation == "strong"
    return actions.vary_strong_strength if strong else actions.vary_subtle_strength


def upscale(creative: bool) -> Callable[[DraftSpec, ActionRequest], None]:
    def prepare(draft: DraftSpec, request: ActionRequest) -> None:
        factor = request.settings.actions.upscale_factor
        draft.upscale = factor
        draft.count = 1
        draft.seed = request.seed
        width, height = request.parent.width * factor, request.parent.height * factor
        if creative:
            draft.strength = request.settings.actions.creative_strength
            # the img2img pass needs a multiple of 8; a pixel or two less at most
            width -= width % DIFFUSION_SIZE_STEP
            height -= height % DIFFUSION_SIZE_STEP
        draft.width, draft.height = width, height

    return prepare


def zoom(factor: float) -> Callable[[DraftSpec, ActionRequest], None]:
    def prepare(draft: DraftSpec, request: ActionRequest) -> None:
        parent = request.parent
        draft.width, draft.height, draft.placement = plan_zoom(
            parent.width, parent.height, factor, request.budget, request.settings.actions.feather
        )
        fresh_canvas(draft)

    return prepare


def custom_zoom(draft: DraftSpec, request: ActionRequest) -> None:
    """Zoom Out by the prompt's ``--zoom`` (1-2), which the member set in the Custom Zoom form;
    the flag is this job's alone, so it is not passed on to the jobs made from this one."""
    if not draft.has_flag("zoom"):
        raise PromptError(
            "Custom Zoom needs --zoom with a value from 1 to 2 in the prompt, e.g. --zoom 1.5.",
            flag="zoom",
        )
    zoom(float(draft.flag("zoom")))(draft, request)
    flags = {name: value for name, value in draft.prompt.flags.items() if name != "zoom"}
    draft.prompt = draft.prompt.model_copy(update={"flags": flags})


def make_square(draft: DraftSpec, request: ActionRequest) -> None:
    parent = request.parent
    draft.width, draft.height, draft.placement = plan_square(
        parent.width, parent.height, request.budget, request.settings.actions.feather
    )
    fresh_canvas(draft)


def pan(direction: Direction) -> Callable[[DraftSpec, ActionRequest], None]:
    def prepare(draft: DraftSpec, request: ActionRequest) -> None:
        parent, actions = request.parent, request.settings.actions
        draft.width, draft.height, draft.placement = plan_pan(
            parent.width,
            parent.height,
            direction,
            actions.pan_fraction,
            request.budget,
            actions.feather,
        )
        fresh_canvas(draft)

    return prepare


def fresh_canvas(draft: DraftSpec) -> None:
    """What every outpainting action sets besides the geometry: the new canvas starts from
    noise, with new seeds, and is no seamless tile even if the parent was one."""
    draft.strength = 1.0
    draft.tile = False
    new_seed(draft)


def enhance(draft: DraftSpec, request: ActionRequest) -> None:
    flags = {name: value for name, value in draft.prompt.flags.items() if name != "draft"}
    draft.prompt = draft.prompt.model_copy(update={"flags": flags})
    draft.strength = request.settings.actions.enhance_strength
    draft.seed = request.seed
    draft.count = 1


def diffusion_size(width: int, height: int, budget: int) -> tuple[int, int]:
    """``width`` x ``height`` scaled down to ``budget`` pixels if larger, in multiples of 8."""
    scale = min(1.0, math.sqrt(budget / (width * height)))
    step = DIFFUSION_SIZE_STEP
    return (
        max(step, int(width * scale) // step * step),
        max(step, int(height * scale) // step * step),
    )


def enhanceable(spec: GenerationSpec) -> bool:
    """A ``--draft`` image, not yet upscaled: an upscale keeps the draft's flags, but it is the
    large copy, and Enhance would re-render it at the draft's size."""
    return bool(spec.flags.get("draft")) and not_upscaled(spec)


def not_square(spec: GenerationSpec) -> bool:
    return spec.width != spec.height


def not_upscaled(spec: GenerationSpec) -> bool:
    """An upscaled image is offered no second upscale: it is already the large copy."""
    return spec.upscale is None


BUILTIN_ACTIONS = (
    Action(
        "reroll",
        "Reroll",
        "any",
        reroll,
        needs_source=False,
        applies=not_upscaled,  # an upscale's size and count are no prompt's to run again
        emoji="\N{ANTICLOCKWISE DOWNWARDS AND UPWARDS OPEN CIRCLE ARROWS}",
        title="",
        help="the same prompt and settings with four new seeds",
        edit_prompt="remix",
    ),
    Action(
        "variation",
        "V",
        "grid",
        vary(grid_strength),
        per_image=True,
        title="Variations (Strong)",
        help="four variations of the chosen image",
        edit_prompt="remix",
    ),
    Action(
        "vary_subtle",
        "Vary (Subtle)",
        "image",
        vary(lambda request: request.settings.actions.vary_subtle_strength),
        title="Variations (Subtle)",
        help="four close variations of this image",
        edit_prompt="remix",
    ),
    Action(
        "vary_strong",
        "Vary (Strong)",
        "image",
        vary(lambda request: request.settings.actions.vary_strong_strength),
        title="Variations (Strong)",
        help="four looser variations of this image",
        edit_prompt="remix",
    ),
    Action(
        "upscale_subtle",
        "Upscale (Subtle)",
        "image",
        upscale(creative=False),
        applies=not_upscaled,
        title="Upscaled (Subtle)",
        help="a larger copy of this image (Real-ESRGAN)",
    ),
    Action(
        "upscale_creative",
        "Upscale (Creative)",
        "image",
        upscale(creative=True),
        applies=not_upscaled,
        title="Upscaled (Creative)",
        help="a larger copy with new detail painted in",
    ),
    Action(
        "zoom_out_2x",
        "Zoom Out 2x",
        "image",
        zoom(2.0),
        title="Zoomed Out 2x",
        help="more of the scene around it",
        edit_prompt="remix",
    ),
    Action(
        "zoom_out_1_5x",
        "Zoom Out 1.5x",
        "image",
        zoom(1.5),
        title="Zoomed Out 1.5x",
        help="a little more of the scene",
        edit_prompt="remix",
    ),
    Action(
        "zoom_custom",
        "Custom Zoom",
        "image",
        custom_zoom,
        title="Zoomed Out",
        help="zoom out by a factor from 1 to 2 (--zoom), with the prompt to edit",
        edit_prompt="always",
        form_suffix="--zoom 2",
    ),
    Action(
        "make_square",
        "Make Square",
        "image",
        make_square,
        applies=not_square,
        help="extend the short sides to a square",
        edit_prompt="remix",
    ),
    Action(
        "pan_left",
        "\N{LEFTWARDS BLACK ARROW}",
        "image",
        pan("left"),
        title="Pan Left",
        help="extend left",
        edit_prompt="remix",
    ),
    Action(
        "pan_right",
        "\N{BLACK RIGHTWARDS ARROW}",
        "image",
        pan("right"),
        title="Pan Right",
        help="extend right",
        edit_prompt="remix",
    ),
    Action(
        "pan_up",
        "\N{UPWARDS BLACK ARROW}",
        "image",
        pan("up"),
        title="Pan Up",
        help="extend upwards",
        edit_prompt="remix",
    ),
    Action(
        "pan_down",
        "\N{DOWNWARDS BLACK ARROW}",
        "image",
        pan("down"),
        title="Pan Down",
        help="extend downwards",
        edit_prompt="remix",
    ),
    Action(
        "enhance",
        "Enhance",
        "image",
        enhance,
        inherit=False,
        applies=enhanceable,
        title="Enhanced",
        help="re-render this draft at full quality with the same seed",
    ),
)


@hookimpl(trylast=True)
def imagine_register_actions(register: Callable[[Action], None]) -> None:
    for action in BUILTIN_ACTIONS:
        register(action)
