"""The text sent to the model: style suffix, ``--no`` and default negatives, ``--raw``, and
the parts of a ``::`` multi-prompt, each with the style suffix, to be blended by weight."""

from imagine_bot.config import Settings
from imagine_bot.engine.spec import DraftSpec, PromptPart
from imagine_bot.plugins import hookimpl


@hookimpl(trylast=True)
def imagine_transform(draft: DraftSpec, settings: Settings) -> None:
    assert draft.preset is not None, "model_preset runs before prompt_text"
    chosen_style = draft.flag("style")
    raw = draft.flag("raw") or chosen_style == "raw"
    if chosen_style not in (None, "raw"):
        draft.warnings.append(
            f"--style {chosen_style} is one of Midjourney's own styles, which this server does "
            "not have, so it was ignored (only --style raw is supported)."
        )
    if raw and not (draft.preset.style or draft.preset.negative):
        draft.warnings.append(
            f"--{'raw' if draft.has_flag('raw') else 'style raw'} changes nothing on the model "
            f"{draft.model!r}, which has no house style to leave out."
        )
    style = "" if raw else draft.preset.style
    if draft.positive is None:
        draft.positive = _with_style(draft.prompt.text, style)
    if draft.blend is None:
        parts = draft.prompt.parts
        draft.blend = (
            tuple(PromptPart(text=_with_style(p.text, style), weight=p.weight) for p in parts)
            if len(parts) > 1
            else ()
        )
    if draft.negative is None:
        terms = list(draft.flag("no") or ())
        if not raw and draft.preset.negative:
            terms.append(draft.preset.negative)
        draft.negative = ", ".join(terms)


def _with_style(text: str, style: str) -> str:
    return ", ".join(piece for piece in (text, style) if piece)
