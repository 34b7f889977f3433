"""Real-ESRGAN upscaling (Upscale (Subtle)) on the project's own networks, tiled.

Usage, on the GPU worker thread only::

    upscaler = Upscaler(settings)                    # cheap: nothing loads yet
    image, warning = upscaler.upscale(picture, 2)    # PIL image in, PIL image out
    if warning:
        tell_the_user(warning)

``Upscaler(settings)`` reads ``settings.upscale`` and the engine's device and dtype (float16 on
CUDA by default). ``upscale(image, factor)`` returns ``(image, warning)``: an image exactly
``factor`` times the input size (factor 2, 3 or 4; RGB, or RGBA when the input had alpha,
which is enlarged with Lanczos) and a warning string for the user, or None. The first call
that needs a network loads its weights and keeps the network resident. Which network runs:

- 2x: ``upscale.subtle_model`` (default x2plus); if its weights are not set, the first of
  x2plus, general_x4v3, x4plus that is. A 4x network runs at 4x and the result is reduced to
  2x with Lanczos, as Real-ESRGAN's ``--outscale`` does.
- 3x / 4x: x4plus, else general_x4v3 (or ``subtle_model`` when it is a 4x model); with only
  x2plus set, 2x Real-ESRGAN then Lanczos, with a warning saying so.
- No weights set: Lanczos, with a warning saying how to configure weights.

Errors are ``UserError`` with a message a person can act on: an unsupported factor, a result
above ``upscale.max_pixels``, a weights file that is missing, corrupt or not Real-ESRGAN.

Modules: ``rrdbnet`` (RRDBNet: x4plus, x2plus), ``compact`` (SRVGGNetCompact:
general-x4v3), ``loader`` (weights file -> network, architecture read from the tensors),
``tiling`` (tiled inference with overlap), ``upscaler`` (this facade).
"""

from imagine_bot.engine.gpu.upscale.loader import LoadedNet, WeightsError, load_upscale_net
from imagine_bot.engine.gpu.upscale.upscaler import NO_WEIGHTS_WARNING, Upscaler

__all__ = ["NO_WEIGHTS_WARNING", "LoadedNet", "Upscaler", "WeightsError", "load_upscale_net"]
