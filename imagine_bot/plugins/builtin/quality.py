"""``--quality`` -> sampling steps: the preset's steps times the quality value."""

from imagine_bot.config import Settings
from imagine_bot.engine.spec import DraftSpec
from imagine_bot.plugins import hookimpl


@hookimpl(trylast=True)
def imagine_transform(draft: DraftSpec, settings: Settings) -> None:
    assert draft.preset is not None, "model_preset runs before quality"
    quality = draft.flag("quality")
    if draft.steps is None:
        draft.steps = max(1, round(draft.preset.steps * quality))
    if draft.scheduler is None:
        draft.scheduler = draft.preset.scheduler
