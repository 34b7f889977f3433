"""``--chaos 0-100`` -> how much the four images of a grid differ from each other.

Seeds alone vary the details; chaos varies the composition too. Each image gets its own noise
on its prompt embedding, scaled by ``chaos / 100`` and annealed away over the first 40% of the
steps (see ``engine/gpu/conditioning.py`` for the method). ``--chaos 0`` adds none.
"""

from imagine_bot.config import Settings
from imagine_bot.engine.spec import DraftSpec
from imagine_bot.plugins import hookimpl


@hookimpl(trylast=True)
def imagine_transform(draft: DraftSpec, settings: Settings) -> None:
    chaos = draft.flag("chaos")
    if draft.chaos is None:
        draft.chaos = float(chaos) / 100
