"""``--stylize`` -> classifier-free guidance.

Midjourney's low stylize follows the prompt literally and high stylize lets the model's own
aesthetics take over. In diffusion terms that is the opposite of guidance: higher guidance
follows the text harder. So guidance falls as stylize rises, piecewise linearly through
these points (relative to the preset's guidance, never below 1, where guidance switches off):

    stylize    0    100   250   500   1000
    factor    1.5   1.0   0.85  0.7   0.5
"""

import itertools

from imagine_bot.config import Settings
from imagine_bot.engine.spec import DraftSpec
from imagine_bot.plugins import hookimpl

CURVE = ((0, 1.5), (100, 1.0), (250, 0.85), (500, 0.7), (1000, 0.5))
MIN_GUIDANCE = 1.0


@hookimpl(trylast=True)
def imagine_transform(draft: DraftSpec, settings: Settings) -> None:
    assert draft.preset is not None, "model_preset runs before stylize"
    stylize = draft.flag("stylize")
    if draft.guidance is None:
        draft.guidance = guidance_for(stylize, draft.preset.guidance)
        if draft.has_flag("stylize") and draft.preset.guidance <= MIN_GUIDANCE:
            draft.warnings.append(
                f"--stylize changes nothing on the model {draft.model!r}, which runs without "
                "guidance."
            )


def guidance_for(stylize: float, preset_guidance: float) -> float:
    """The guidance for ``stylize``; a preset without guidance (turbo models) stays without."""
    if preset_guidance <= MIN_GUIDANCE:
        return preset_guidance
    factor = CURVE[-1][1]
    for (low, low_factor), (high, high_factor) in itertools.pairwise(CURVE):
        if stylize <= high:
            factor = low_factor + (high_factor - low_factor) * (stylize - low) / (high - low)
            break
    return round(max(MIN_GUIDANCE, preset_guidance * factor), 3)
