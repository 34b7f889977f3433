"""``--tile`` -> images that repeat seamlessly, as textures and wallpapers.

The UNet's and VAE's convolutions pad circularly while the job runs, so the image wraps around
at its edges (``engine/gpu/seamless.py``).
"""

from imagine_bot.config import Settings
from imagine_bot.engine.spec import DraftSpec
from imagine_bot.plugins import hookimpl


@hookimpl(trylast=True)
def imagine_transform(draft: DraftSpec, settings: Settings) -> None:
    tile = draft.flag("tile")
    if draft.tile is None:
        draft.tile = bool(tile)
