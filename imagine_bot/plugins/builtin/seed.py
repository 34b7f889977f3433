"""``--seed`` -> the first of the grid's four seeds; without it, a random one.

With ``--repeat``, each further run of an explicit seed starts four seeds later, so repeats
differ from each other and stay reproducible; each run's ``--seed`` says its own first seed, so
its caption and copied prompt give that grid again, not the first run's.
"""

import secrets

from imagine_bot.config import Settings
from imagine_bot.engine.spec import GRID_SIZE, SEED_LIMIT, DraftSpec
from imagine_bot.plugins import hookimpl


@hookimpl(trylast=True)
def imagine_transform(draft: DraftSpec, settings: Settings) -> None:
    seed = draft.flag("seed")
    if draft.seed is None:
        if seed is None:
            draft.seed = secrets.randbelow(SEED_LIMIT)
        else:
            draft.seed = (seed + GRID_SIZE * draft.repeat) % SEED_LIMIT
            flags = {**draft.prompt.flags, "seed": draft.seed}
            draft.prompt = draft.prompt.model_copy(update={"flags": flags})
