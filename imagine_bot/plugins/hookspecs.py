"""Every hook a plugin can implement, in the order a job meets them.

Two kinds of hooks:

* **Register hooks** run once at start-up and receive a ``register`` callable.
* **Job hooks** run for every job, in the order of the data flow: parse -> transform ->
  validate (on the event loop), then generate -> postprocess (on the GPU worker thread).

Hooks marked *sync only* must be plain ``def`` functions: the plugin manager refuses an
``async def`` implementation of them at start-up. The others may be ``async def``.

Built-in behaviour is implemented by ordinary plugins under ``plugins/builtin/``, registered
with ``trylast=True``: an installed plugin's implementation runs before them and so can
override them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from imagine_bot.plugins import hookspec

if TYPE_CHECKING:
    from PIL import Image

    from imagine_bot.config import Settings
    from imagine_bot.engine.control import JobControl
    from imagine_bot.engine.gpu.models import ModelRegistry
    from imagine_bot.engine.result import GenerationResult
    from imagine_bot.engine.spec import DraftSpec, GenerationSpec, Prompt
    from imagine_bot.plugins.actions import Action
    from imagine_bot.plugins.flags import Flag, FlagRegistry

_Hook = TypeVar("_Hook", bound=Callable[..., object])


def sync_only(function: _Hook) -> _Hook:
    """Mark a hook whose implementations must not be ``async def``."""
    function.imagine_sync_only = True  # type: ignore[attr-defined]
    return function


# --- Register hooks (start-up) -------------------------------------------------------------


@hookspec
@sync_only
def imagine_register_flags(register: Callable[[Flag], None]) -> None:
    """Declare prompt flags by calling ``register(Flag(...))``.

    Runs once at start-up, in the main thread. A name or alias that is already taken is an
    error at start-up. Built-in: the whole Midjourney parameter list (``midjourney_flags``).
    A flag the user writes but no transform hook reads is reported back to them as ignored.
    """


@hookspec
@sync_only
def imagine_register_actions(register: Callable[[Action], None], settings: Settings) -> None:
    """Declare the actions behind message buttons by calling ``register(Action(...))``.

    Runs once at start-up, in the main thread. An action derives a new job from a finished
    one: its ``prepare`` pre-sets fields of the new draft spec (source image, strength, size,
    seeds...) before the transform hooks run (``JobPlanner.derive``). It says which messages
    it belongs under (a grid, a single image), its button label, and for which specs it
    applies (``settings`` lets it ask the job's preset, as Retexture asks for a ControlNet).
    A name that is already taken is an error at start-up. Built-in (``actions``): reroll,
    variation (V1-V4), vary_subtle, vary_strong, upscale_subtle, upscale_creative,
    zoom_out_2x, zoom_out_1_5x, make_square, pan_left/right/up/down and enhance; vary_region
    (``region``), rerun_hd (``hd``), fix_faces (``fix``), retexture (``structure``), edit
    (``edit``).
    """


# --- Job hooks: event loop ----------------------------------------------------------------


@hookspec(firstresult=True)
@sync_only
def imagine_parse(text: str, flags: FlagRegistry) -> list[Prompt] | None:
    """Turn the user's prompt text into one ``Prompt`` per expansion.

    Runs on the event loop; first result wins; sync only. Raise ``PromptError`` for bad input.
    Built-in: the Midjourney grammar (``grammar``): image URLs, ``::`` weights, ``{a, b}``
    permutations and flags looked up in ``flags``.
    """


@hookspec
@sync_only
def imagine_transform(draft: DraftSpec, settings: Settings) -> None:
    """Fill in or edit the draft spec in place; every implementation runs, in order.

    Runs on the event loop; sync only. Read flags with ``draft.flag(name)``, which also marks
    the flag as honoured. Built-ins only fill fields that are still ``None``, so a plugin
    decides a value by setting it. Built-ins, in order: ``model_preset`` (``--v``, ``--niji``,
    ``--draft``), ``prompt_text`` (``--no``, ``--raw``, style suffix, ``::`` blends),
    ``aspect`` (``--ar``), ``quality`` (``--q``), ``stylize`` (``--s``), ``seed``
    (``--seed``), ``chaos`` (``--chaos``), ``stop`` (``--stop``), ``tile`` (``--tile``),
    ``lane`` (``--fast``/``--relax``/``--turbo``), ``image_refs`` (image prompts, ``--iw``,
    ``--sref``, ``--sw``, ``--cref``/``--oref`` -> ``draft.references``; the planner fetches
    the URLs among them after this hook, before the spec is frozen). For a button's action
    the draft arrives with the action's fields already set (``imagine_register_actions``).
    """


@hookspec
def imagine_validate(spec: GenerationSpec, settings: Settings) -> Awaitable[None] | None:
    """Accept or reject the frozen spec before any quota is reserved or job is queued.

    Runs on the event loop; may be ``async def``; every implementation runs. Reject by raising
    ``UserError`` with a message for the user. Built-ins: size limits (``limits``) and the
    content policy's word list (``safety``).
    """


# --- Job hooks: GPU worker thread ----------------------------------------------------------


@hookspec(firstresult=True)
@sync_only
def imagine_generate(
    spec: GenerationSpec, models: ModelRegistry, control: JobControl
) -> list[Image.Image] | None:
    """Produce one image per seed in ``spec.seeds``.

    Runs on the GPU worker thread; first result wins; sync only. Report progress and previews,
    add warnings for the user and honour cancellation through ``control``; input images are in
    ``models.store``. Wrap every pipeline call in
    ``with models.image_prompts(pipeline, spec) as inputs:`` and pass ``**inputs`` to it, so
    the spec's image prompts and references (IP-Adapter) take effect. Built-in (``generate``):
    by ``spec.kind``, text-to-image, image-to-image (vary, enhance), inpainting (zoom, make
    square, pan) or upscale, all images in one batched pipeline call with one generator per
    seed.
    """


@hookspec(firstresult=True)
@sync_only
def imagine_generate_batch(
    specs: Sequence[GenerationSpec], models: ModelRegistry, controls: Sequence[JobControl]
) -> list[list[Image.Image]] | None:
    """Produce the images of several jobs (their specs share ``GenerationSpec.batch_key``) in
    one pipeline call: one list per spec, each as ``imagine_generate`` would make it alone.

    Runs on the GPU worker thread; first result wins; sync only. Only asked of the plugin whose
    ``imagine_generate`` runs first: a plugin that replaces the generate stage without
    implementing this runs its jobs one by one. Built-in (``generate``): txt2img jobs side by
    side in one batch, each with its own prompt, generators, progress, previews and cancel.
    """


@hookspec
@sync_only
def imagine_postprocess(result: GenerationResult, models: ModelRegistry) -> None:
    """Add to the result in place (grid, metadata, ...); every implementation runs.

    Runs on the GPU worker thread; sync only. Raise ``UserError`` to fail the job (it is
    refunded). Built-ins: the safety classifier (``safety``: flagged images go to
    ``result.flagged``, or fail the job with ``ContentBlocked`` where the spec's
    ``content_policy`` blocks them), the 2x2 grid (``grid``) and PNG generation parameters
    readable by A1111/ComfyUI tools (``metadata``).
    """
