"""The ``Upscaler`` facade: settings in, an image ``factor`` times larger out."""

from __future__ import annotations

import logging

import numpy as np
import torch
from PIL import Image

from imagine_bot.config import Settings
from imagine_bot.config.settings import UpscaleModel
from imagine_bot.engine.errors import UserError
from imagine_bot.engine.gpu.devices import resolve_device
from imagine_bot.engine.gpu.upscale.loader import LoadedNet, load_upscale_net
from imagine_bot.engine.gpu.upscale.tiling import tiled_forward

log = logging.getLogger(__name__)

FACTORS = (2, 3, 4)
_NATIVE_SCALE: dict[UpscaleModel, int] = {"x2plus": 2, "x4plus": 4, "general_x4v3": 4}
NO_WEIGHTS_WARNING = (
    "Upscaled with Lanczos, not Real-ESRGAN: no upscaler weights are configured. To enable "
    "it, download the official Real-ESRGAN weights (RealESRGAN_x2plus.pth, "
    "RealESRGAN_x4plus.pth or realesr-general-x4v3.pth) and set upscale.x2plus_weights, "
    "upscale.x4plus_weights or upscale.general_x4v3_weights in the settings "
    '(README, "Upscaling").'
)


def upscale_dtype(setting: str, device: torch.device) -> torch.dtype:
    """``engine.dtype`` when it names one; "auto" is float32 on the CPU, float16 elsewhere.

    float16 rather than bfloat16 on GPUs: it is the half precision Real-ESRGAN itself runs its
    weights in, and bfloat16 keeps only 8 significant bits, as coarse as the 8-bit output.
    """
    if setting != "auto":
        dtype: torch.dtype = getattr(torch, setting)
        return dtype
    return torch.float32 if device.type == "cpu" else torch.float16


class Upscaler:
    """Real-ESRGAN upscaling with the weights named in ``settings.upscale``.

    Networks load on first use and stay resident on the engine's device. Not thread-safe:
    call it only from the GPU worker thread.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings.upscale
        self.device = resolve_device(settings.engine.device)
        self.dtype = upscale_dtype(settings.engine.dtype, self.device)
        self._nets: dict[UpscaleModel, LoadedNet] = {}

    def upscale(self, image: Image.Image, factor: int) -> tuple[Image.Image, str | None]:
        """``image`` enlarged exactly ``factor`` times (2, 3 or 4) and a warning, or None.

        The warning says when the result is not all Real-ESRGAN (no weights configured, or
        only 2x weights for a larger factor). A wrong factor, a result above
        ``upscale.max_pixels`` or an unusable weights file raises ``UserError``.
        """
        if factor not in FACTORS:
            raise UserError(f"Upscale factor {factor} is not supported: use 2, 3 or 4.")
        size = (image.width * factor, image.height * factor)
        if size[0] * size[1] > self.settings.max_pixels:
            raise UserError(
                f"An upscaled image of {size[0]}x{size[1]} would be larger than this bot "
                f"allows ({self.settings.max_pixels:,} pixels)."
            )
        model = self.choose_model(factor)
        if model is None:
            return image.resize(size, Image.Resampling.LANCZOS), NO_WEIGHTS_WARNING

        loaded = self._net(model)
        alpha = image.getchannel("A") if "A" in image.getbands() else None
        if alpha is None and image.mode == "P" and "transparency" in image.info:
            alpha = image.convert("RGBA").getchannel("A")
        result = self._run(loaded, image.convert("RGB"))
        warning = None
        if result.size != size:
            # A 4x network for a 2x request is reduced (Real-ESRGAN's own "outscale"); the
            # 2x network for a 4x request is enlarged the rest of the way.
            if loaded.scale < factor:
                warning = (
                    f"Only 2x Real-ESRGAN weights are configured, so the last {factor / 2:g}x "
                    "of this upscale is Lanczos. Set upscale.x4plus_weights or "
                    "upscale.general_x4v3_weights for a full 4x."
                )
            result = result.resize(size, Image.Resampling.LANCZOS)
        if alpha is not None:
            result.putalpha(alpha.resize(size, Image.Resampling.LANCZOS))
        return result, warning

    def choose_model(self, factor: int) -> UpscaleModel | None:
        """The configured model a ``factor`` upscale uses, or None when none is configured.

        2x prefers ``upscale.subtle_model``; larger factors prefer a native 4x model.
        """
        subtle = self.settings.subtle_model
        if factor <= 2:
            order: list[UpscaleModel] = [subtle, "x2plus", "general_x4v3", "x4plus"]
        else:
            order = [subtle] if _NATIVE_SCALE[subtle] >= factor else []
            order += ["x4plus", "general_x4v3", "x2plus"]
        return next((model for model in order if self.settings.weights(model)), None)

    def _net(self, model: UpscaleModel) -> LoadedNet:
        if model not in self._nets:
            path = self.settings.weights(model)
            assert path is not None
            loaded = load_upscale_net(path.expanduser(), f"upscale.{model}_weights")
            loaded.net.to(self.device, self.dtype)
            log.info(
                "loaded upscaler %s from %s: %s x%d, %.1fM parameters",
                model,
                path,
                loaded.architecture,
                loaded.scale,
                loaded.parameters / 1e6,
            )
            self._nets[model] = loaded
        return self._nets[model]

    def _run(self, loaded: LoadedNet, image: Image.Image) -> Image.Image:
        pixels = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy())
        batch = pixels.permute(2, 0, 1).unsqueeze(0).float().div_(255)

        def forward(tile: torch.Tensor) -> torch.Tensor:
            out = loaded.net(tile.to(self.device, self.dtype))
            # Quantised on the device: a quarter of the bytes to copy back and to keep.
            return out.float().clamp_(0, 1).mul_(255).round_().to(torch.uint8).cpu()

        with torch.inference_mode():
            out = tiled_forward(
                forward,
                batch,
                loaded.scale,
                self.settings.tile,
                self.settings.tile_overlap,
                loaded.input_multiple,
            )
        return Image.fromarray(out[0].permute(1, 2, 0).contiguous().numpy(), "RGB")
