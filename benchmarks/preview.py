"""Live previews: cost of one latent -> RGB preview vs one VAE decode of the same latents.

A preview is what the generate stage makes every ``engine.preview_every`` steps for a job
someone watches: the batch's latents projected to RGB with a 4x3 matrix and tiled into the
2x2 grid (``engine/gpu/previews.py``), PIL image included. The VAE decode is what a preview would
cost the usual way: ``vae.decode`` of the same four latents, with the Stable Diffusion VAE's
architecture (random weights: same arithmetic as the real one) and, for scale, the tiny
model's VAE. Medians of ``--repeats`` previews and ``--decode-repeats`` decodes after a
warm-up. On a CPU the default size is 256 (an SD VAE decode of four 1024x1024 images takes
minutes there); the preview is also timed at 1024x1024, the size real models render.
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

    from imagine_bot.engine.gpu.families.sd1 import PREVIEW as SD1
    from imagine_bot.engine.gpu.models import ModelRegistry
    from imagine_bot.engine.gpu.previews import preview_image

    settings = _common.settings(args)
    registry = ModelRegistry(settings)
    registry.claim_thread()
    device, dtype = registry.device, registry.dtype
    side = args.size or (64 if args.smoke else 1024 if device.type == "cuda" else 256)
    repeats = 2 if args.smoke else args.repeats
    decode_repeats = 1 if args.smoke else args.decode_repeats

    def batch(side: int) -> Any:
        return torch.randn(BATCH, 4, side // 8, side // 8, device=device, dtype=dtype)

    latents = batch(side)

    decoders = {"tiny VAE": registry.pipeline(settings.default_model).vae}
    if not args.smoke:
        decoders["SD VAE"] = sd_vae(device, dtype)

    def time_it(function: Any, times: int) -> float:
        function()  # warm-up: kernels, allocations
        return _common.median([_common.timed(function) for _ in range(times)])

    preview_s = time_it(lambda: preview_image(latents, SD1), repeats)
    rows: list[dict[str, Any]] = [
        {
            "method": "latent -> RGB preview (grid)",
            "size": side,
            "seconds": preview_s,
            "vs preview": 1.0,
        }
    ]
    for name, vae in decoders.items():

        def decode(vae: Any = vae) -> None:
            with torch.no_grad():
                vae.decode(latents / 0.18215, return_dict=False)

        seconds = time_it(decode, decode_repeats)
        rows.append(
            {
                "method": f"{name} decode",
                "size": side,
                "seconds": seconds,
                "vs preview": seconds / preview_s,
            }
        )
    if not args.smoke and side != 1024:
        large = batch(1024)
        rows.append(
            {
                "method": "latent -> RGB preview (grid)",
                "size": 1024,
                "seconds": time_it(lambda: preview_image(large, SD1), repeats),
            }
        )
    _common.report(
        "preview",
        args,
        ["method", "size", "seconds", "vs preview"],
        rows,
        parameters={
            "image": f"{BATCH} x {side}x{side}",
            "latents": f"{BATCH}x4x{side // 8}x{side // 8}",
            "device": str(device),
            "dtype": str(dtype).removeprefix("torch."),
            "repeats": repeats,
            "decode repeats": decode_repeats,
        },
        summary=summary(rows),
    )


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    previews = [row for row in rows if row["method"].startswith("latent")]
    result: dict[str, Any] = {
        f"preview ms per call, 4 x {row['size']}px": row["seconds"] * 1000 for row in previews
    }
    for row in rows:
        if row["method"] == "SD VAE decode":
            result[f"SD VAE decode / preview at {row['size']}px"] = row["vs preview"]
    return result


def main() -> None:
    parse = _common.parser("preview", __doc__.splitlines()[0])
    parse.add_argument(
        "--size", type=int, help="image side in pixels (default 1024 on CUDA, 512 on a CPU)"
    )
    parse.add_argument("--repeats", type=int, default=20, help="timed previews (default 20)")
    parse.add_argument(
        "--decode-repeats", type=int, default=3, help="timed VAE decodes of each VAE (default 3)"
    )
    measure(parse.parse_args())


if __name__ == "__main__":
    main()
