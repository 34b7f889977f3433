"""``--fast`` / ``--relax`` / ``--turbo`` -> the queue lane; fast by default."""

from imagine_bot.config import Settings
from imagine_bot.engine.spec import DraftSpec, Lane
from imagine_bot.plugins import hookimpl

DEFAULT_LANE = Lane.FAST


@hookimpl(trylast=True)
def imagine_transform(draft: DraftSpec, settings: Settings) -> None:
    chosen = [lane for lane in Lane if draft.flag(lane)]
    if draft.lane is None:
        draft.lane = chosen[0] if chosen else DEFAULT_LANE
