"""The text sent to the model: style suffix, ``--no`` and default negatives, ``--raw``."""

from imagine_bot.config import Settings
from imagine_bot.engine.domain import DraftSpec
from imagine_bot.plugins import hookimpl


@hookimpl(trylast=True)
def imagine_transform(draft: DraftSpec, settings: Settings) -> None:
    assert draft.preset is not None, "model_preset runs before prompt_text"
    raw = draft.flag("raw") or draft.flag("style") == "raw"
    if draft.positive is None:
        style = "" if raw else draft.preset.style
        draft.positive = ", ".join(text for text in (draft.prompt.text, style) if text)
    if draft.negative is None:
        terms = list(draft.flag("no") or ())
        if not raw and draft.preset.negative:
            terms.append(draft.preset.negative)
        draft.negative = ", ".join(terms)
