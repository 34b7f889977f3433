"""``--fast`` / ``--relax`` / ``--turbo`` -> the queue lane; fast by default."""

from imagine_bot.config import Settings
from imagine_bot.engine.spec import DraftSpec
from imagine_bot.plugins import hookimpl

LANES = ("turbo", "fast", "relax")
DEFAULT_LANE = "fast"


@hookimpl(trylast=True)
def imagine_transform(draft: DraftSpec, settings: Settings) -> None:
    chosen = [lane for lane in LANES if draft.flag(lane)]
    if draft.lane is None:
        draft.lane = chosen[0] if chosen else DEFAULT_LANE
