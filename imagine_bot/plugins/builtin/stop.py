"""``--stop 10-100`` -> finish after that percentage of the sampling steps.

The job runs that share of its schedule, then decodes the scheduler's estimate of the finished
image at that point: softer, less detailed images, in less time (``engine/gpu/sampling.py``).
"""

from imagine_bot.config import Settings
from imagine_bot.engine.spec import DraftSpec
from imagine_bot.plugins import hookimpl


@hookimpl(trylast=True)
def imagine_transform(draft: DraftSpec, settings: Settings) -> None:
    stop = draft.flag("stop")
    if draft.stop is None:
        draft.stop = int(stop)
