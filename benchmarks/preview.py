"""Live previews: cost of one latent -> RGB preview vs one VAE decode of the same latents.

A preview is what the generate stage makes every ``engine.preview_every`` steps for a job
someone watches: the batch's latents projected to RGB with a 4x3 matrix and tiled into the
2x2 grid (``engine/previews.py``), PIL image included. The VAE decode is what a preview would
cost the usual way: ``vae.decode`` of the same four latents, with the Stable Diffusion VAE's
architecture (random weights: same arithmetic as the real one) and, for scale, the tiny
model's VAE. Medians of ``--repeats`` calls after a warm-up.
"""

from __future__ import annotations

from typing import Any

import _common

BATCH = 4


def sd_vae(device: Any, dtype: Any) -> Any:
    """A VAE shaped like Stable Diffusion's (1.x/2.x/XL share it), randomly initialised."""
    import torch
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(128, 256, 512, 512),
        layers_per_block=2,
        latent_channels=4,
        norm_num_groups=32,
    )
    return vae.to(device, dtype).eval()


def measure(args: Any) -> None:
    import torch

    from imagine_bot.engine.models import ModelRegistry, resolve_device, resolve_dtype
    from imagine_bot.engine.previews import SD1, preview_image

    settings = _common.settings(args)
    device = resolve_device(settings.engine.device)
    dtype = resolve_dtype(settings.engine.dtype, device)
    side = args.size or (64 if args.smoke else 1024 if device.type == "cuda" else 512)
    repeats = 2 if args.smoke else args.repeats
    latents = torch.randn(BATCH, 4, side // 8, side // 8, device=device, dtype=dtype)

    registry = ModelRegistry(settings)
    registry.claim_thread()
    decoders = {"tiny VAE": registry.pipeline(settings.default_model).vae}
    if not args.smoke:
        decoders["SD VAE"] = sd_vae(device, dtype)

    def time_it(function: Any) -> float:
        function()  # warm-up: kernels, allocations
        return _common.median([_common.timed(function) for _ in range(repeats)])

    preview_s = time_it(lambda: preview_image(latents, SD1))
    rows: list[dict[str, Any]] = [
        {"method": "latent -> RGB preview (grid)", "seconds": preview_s, "vs preview": 1.0}
    ]
    for name, vae in decoders.items():

        def decode(vae: Any = vae) -> None:
            with torch.no_grad():
                vae.decode(latents / 0.18215, return_dict=False)

        seconds = time_it(decode)
        rows.append(
            {"method": f"{name} decode", "seconds": seconds, "vs preview": seconds / preview_s}
        )
    _common.report(
        "preview",
        args,
        ["method", "seconds", "vs preview"],
        rows,
        parameters={
            "image": f"{BATCH} x {side}x{side}",
            "latents": f"{BATCH}x4x{side // 8}x{side // 8}",
            "device": str(device),
            "dtype": str(dtype).removeprefix("torch."),
            "repeats": repeats,
        },
        summary={
            "preview ms per call": preview_s * 1000,
            "cheaper than the SD VAE decode by": rows[-1]["vs preview"] if not args.smoke else None,
        },
    )


def main() -> None:
    parse = _common.parser("preview", __doc__.splitlines()[0])
    parse.add_argument(
        "--size", type=int, help="image side in pixels (default 1024 on CUDA, 512 on a CPU)"
    )
    parse.add_argument("--repeats", type=int, default=20, help="timed calls of each (default 20)")
    measure(parse.parse_args())


if __name__ == "__main__":
    main()
