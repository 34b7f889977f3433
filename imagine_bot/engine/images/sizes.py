"""The pixel grid that image sizes snap to: multiples of 64, or of 16 where 64 is too coarse.

Every family takes multiples of 16 (the VAE's 8, times the 2x2 latent patches of the
transformer families); 64 is kept wherever it holds the shape, as the sizes people know
(1344x768 for 16:9). On small images (drafts, small models) a 64-pixel step is a third of a
side: it turned a 16:9 draft into 192x128 (3:2) and a panned 192x128 draft into 192x64.
"""

from __future__ import annotations

SIZE_STEP = 64
FINE_STEP = 16
FINE_BELOW = 512
"""Canvases with a side under this many pixels snap to ``FINE_STEP``."""


def canvas_step(width: float, height: float) -> int:
    """The step a canvas of about ``width`` x ``height`` snaps to."""
    return SIZE_STEP if min(width, height) >= FINE_BELOW else FINE_STEP


def snap_down(side: float, step: int) -> int:
    """``side`` rounded down to a multiple of ``step``, at least one step."""
    return max(step, int(side) // step * step)
