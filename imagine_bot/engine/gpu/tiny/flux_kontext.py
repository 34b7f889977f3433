"""``builtin:tiny-flux-kontext``: FLUX.1 Kontext's shape, the edit model of ``tiny-flux``.

Kontext is a FLUX.1 [dev] transformer that reads the source image's latents beside the noise;
its parts are FLUX.1's, so the tiny one is ``tiny-flux``'s parts under ``FluxKontextPipeline``.
"""

from __future__ import annotations

from diffusers import FluxKontextPipeline

from imagine_bot.engine.gpu.tiny import flux


def build() -> FluxKontextPipeline:
    return FluxKontextPipeline(**flux.build().components)
