"""``--lora NAME[::WEIGHT]`` -> the ``[loras.*]`` presets a job applies, and their trigger words.

Runs after ``prompt_text``: the trigger words of each LoRA are appended to the prompt (and to
every part of a ``::`` multi-prompt). A LoRA trained for another model family than the job's
model is refused, naming both.
"""

import difflib
import math
from collections.abc import Callable

from imagine_bot.config import ModelPreset, Settings
from imagine_bot.config.quoting import quoted
from imagine_bot.engine.errors import PromptError, UserError
from imagine_bot.engine.spec import DraftSpec, LoraUse, PromptPart
from imagine_bot.plugins import hookimpl
from imagine_bot.plugins.flags import Flag

LORA_FLAG = Flag(
    "lora",
    "words",
    repeatable=True,
    help="apply a LoRA preset: NAME or NAME::WEIGHT (repeatable)",
)


@hookimpl(trylast=True)
def imagine_register_flags(register: Callable[[Flag], None]) -> None:
    register(LORA_FLAG)


@hookimpl(trylast=True)
def imagine_transform(draft: DraftSpec, settings: Settings) -> None:
    asked = draft.flag("lora")
    if draft.loras is not None:
        return
    assert draft.preset is not None and draft.model is not None, "model_preset runs first"
    uses = tuple(parse_lora(str(token), settings) for token in asked or ())
    # The last weight given for a LoRA wins.
    uses = tuple({use.name: use for use in uses}.values())
    for use in uses:
        check_family(use.name, settings, draft.model, draft.preset)
    draft.loras = uses
    triggers = ", ".join(
        settings.loras[u.name].triggers for u in uses if settings.loras[u.name].triggers
    )
    if triggers and draft.positive is not None:
        draft.positive = f"{draft.positive}, {triggers}" if draft.positive else triggers
        if draft.blend:
            draft.blend = tuple(
                PromptPart(text=f"{part.text}, {triggers}", weight=part.weight)
                for part in draft.blend
            )


def parse_lora(token: str, settings: Settings) -> LoraUse:
    """``NAME`` or ``NAME::WEIGHT`` as a use of that preset (its default weight if none)."""
    written_name, separator, written = token.partition("::")
    names = {known.lower(): known for known in settings.loras}
    name = names.get(written_name.lower(), written_name)
    preset = settings.loras.get(name)
    if preset is None:
        known = sorted(settings.loras)
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f" Did you mean {close[0]}?" if close else ""
        available = f" Available: {', '.join(known)}." if known else " This server has none."
        raise PromptError(f"There is no LoRA {quoted(name)}.{hint}{available}", flag="lora")
    if not separator:
        return LoraUse(name=name, weight=preset.weight)
    try:
        weight = float(written)
    except ValueError:
        weight = math.nan
    if not math.isfinite(weight) or abs(weight) > 4:
        raise PromptError(
            f"--lora {token}: the weight after :: must be a number from -4 to 4.", flag="lora"
        )
    return LoraUse(name=name, weight=weight)


def check_family(name: str, settings: Settings, model: str, preset: ModelPreset) -> None:
    """Refuse LoRA ``name`` unless it was trained for the family of ``model``."""
    family = settings.loras[name].family
    if preset.family is None:
        raise UserError(
            f"The LoRA {name!r} is for {family} models, but the model {model!r} does not say "
            f"which family it is (models.{model}.family), so LoRAs cannot be used with it."
        )
    if preset.family != family:
        raise UserError(
            f"The LoRA {name!r} is for {family} models and does not fit the model {model!r}, "
            f"which is {preset.family}. Use it with a {family} model, or leave it out."
        )
