"""Upscale (Subtle): seconds for a 2x Real-ESRGAN upscale, compact vs RRDBNet weights, tiled.

Each model is randomly initialised at its official size (general-x4v3: SRVGGNetCompact with
64 features and 32 convolutions; x2plus / x4plus: RRDBNet with 64 features, 23 blocks and 32
growth channels), saved as a .pth file and loaded through the real loader, so the run is the
one official weights get. Random weights cost the same arithmetic as trained ones. Each row
is the median of ``--repeats`` runs of ``Upscaler.upscale(image, 2)`` after one untimed run
that loads the weights; tiles and overlap are the settings' (``[upscale]``) unless given.
general-x4v3 and x4plus run at 4x and are reduced to 2x with Lanczos (as Real-ESRGAN's
``--outscale`` does); x2plus runs at 2x, its trunk at half resolution.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import _common
import numpy as np

CONFIGS = {
    # model -> (settings key, network, real-size options, smoke-size options)
    "general_x4v3": ("compact", {"num_conv": 32}, {"num_feat": 16, "num_conv": 2}),
    "x2plus": ("rrdbnet", {"scale": 2, "num_block": 23}, {"scale": 2, "num_block": 1}),
    "x4plus": ("rrdbnet", {"scale": 4, "num_block": 23}, {"scale": 4, "num_block": 1}),
}


def write_weights(model: str, folder: Path, smoke: bool) -> Path:
    import torch

    from imagine_bot.engine.gpu.upscale.compact import SRVGGNetCompact
    from imagine_bot.engine.gpu.upscale.rrdbnet import RRDBNet

    kind, real, tiny = CONFIGS[model]
    torch.manual_seed(0)
    options: dict[str, Any] = tiny if smoke else real
    net = SRVGGNetCompact(**options) if kind == "compact" else RRDBNet(**options)
    path = folder / f"{model}.pth"
    # The official files wrap the state dict the same way.
    torch.save({"params" if kind == "compact" else "params_ema": net.state_dict()}, path)
    return path


def test_image(size: int) -> Any:
    """A colour ramp with some grain; the content does not change the arithmetic."""
    from PIL import Image

    y, x = np.mgrid[0:size, 0:size] * (255 / max(size - 1, 1))
    rgb = np.stack([x, y, np.full_like(x, 128)], axis=-1)
    grain = np.random.default_rng(0).normal(0, 12, rgb.shape)
    return Image.fromarray(np.clip(rgb + grain, 0, 255).astype(np.uint8), "RGB")


def upscale_once(upscaler: Any, image: Any) -> tuple[float, float]:
    """Wall and process CPU seconds of one 2x upscale of ``image``, checked to be exact."""
    result: list[Any] = []
    cpu = time.process_time()
    seconds = _common.timed(lambda: result.append(upscaler.upscale(image, 2)))
    cpu = time.process_time() - cpu
    out, warning = result[0]
    assert out.size == (2 * image.width, 2 * image.height) and warning is None, warning
    return seconds, cpu


def measure(args: argparse.Namespace) -> None:
    import torch

    from imagine_bot.engine.gpu.upscale import Upscaler

    # Random weights can drive activations into subnormal floats, which CPUs run far slower
    # than trained weights ever do; flushing them keeps the timing about the arithmetic.
    torch.set_flush_denormal(True)
    sizes = [24] if args.smoke else args.sizes
    repeats = 1 if args.smoke else args.repeats
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="upscale-bench-") as scratch:
        overrides = {}
        for model in args.models:
            path = write_weights(model, Path(scratch), args.smoke)
            overrides[f"IMAGINE_UPSCALE__{model.upper()}_WEIGHTS"] = str(path)
        if args.tile is not None:
            overrides["IMAGINE_UPSCALE__TILE"] = str(args.tile)
        if args.overlap is not None:
            overrides["IMAGINE_UPSCALE__TILE_OVERLAP"] = str(args.overlap)
        if args.smoke:
            overrides |= {"IMAGINE_UPSCALE__TILE": "16", "IMAGINE_UPSCALE__TILE_OVERLAP": "4"}
        base = _common.settings(args, overrides)
        tile, overlap = base.upscale.tile, base.upscale.tile_overlap
        engine = Upscaler(base)  # nothing loads until an upscale: only its device and dtype

        for model in args.models:
            settings = base.model_copy(
                update={"upscale": base.upscale.model_copy(update={"subtle_model": model})}
            )
            upscaler = Upscaler(settings)
            assert upscaler.choose_model(2) == model
            load_s, _ = upscale_once(upscaler, test_image(16))
            loaded = upscaler._nets[model]
            for size in sizes:
                image = test_image(size)
                times, cpu_times = zip(
                    *(upscale_once(upscaler, image) for _ in range(repeats)), strict=True
                )
                seconds = _common.median(times)
                rows.append(
                    {
                        "model": model,
                        "network": f"{loaded.architecture} x{loaded.scale}",
                        "parameters": loaded.parameters,
                        "input": f"{size}x{size}",
                        "output": f"{2 * size}x{2 * size}",
                        "tiles": _tile_count(size, tile),
                        "seconds": seconds,
                        "cpu s": _common.median(cpu_times),
                        "output MP/s": (2 * size) ** 2 / 1e6 / seconds,
                        "load s": load_s,
                        "all s": [round(value, 3) for value in times],
                    }
                )

    for row in rows:
        compact = next(
            (r for r in rows if r["model"] == "general_x4v3" and r["input"] == row["input"]), None
        )
        row["vs compact"] = row["seconds"] / compact["seconds"] if compact else None
        row["cpu vs compact"] = row["cpu s"] / compact["cpu s"] if compact else None
    _common.report(
        "upscale",
        args,
        [
            "model",
            "network",
            "parameters",
            "input",
            "output",
            "tiles",
            "seconds",
            "cpu s",
            "vs compact",
            "cpu vs compact",
            "output MP/s",
            "load s",
        ],
        rows,
        parameters={
            "factor": 2,
            "tile": tile,
            "tile_overlap": overlap,
            "repeats": repeats,
            "device": str(engine.device),
            "dtype": str(engine.dtype),
            "weights": "random init, smoke sizes" if args.smoke else "random init, official sizes",
        },
        notes=[
            "seconds: median wall time of Upscaler.upscale(image, 2), tiles and Lanczos "
            "included; 'vs compact' is seconds / general-x4v3's seconds at the same size; "
            "'cpu s' is the process's CPU time (all threads), steadier than wall time on a "
            "shared machine",
            "x2plus is the default Subtle model (upscale.subtle_model); 'load s' is the first "
            "call (reading and placing the weights, plus a 16x16 upscale)",
        ],
    )


def _tile_count(size: int, tile: int) -> int:
    per_side = 1 if tile <= 0 else -(-size // tile)
    return per_side * per_side


def main() -> None:
    parse = _common.parser("upscale", __doc__.splitlines()[0])
    parse.add_argument("--sizes", type=int, nargs="+", default=[1024], help="input sides (1024)")
    parse.add_argument(
        "--models",
        nargs="+",
        choices=list(CONFIGS),
        default=["general_x4v3", "x2plus"],
        help="default: general_x4v3 x2plus (x4plus is ~4x slower than x2plus)",
    )
    parse.add_argument("--tile", type=int, help="tile side in input pixels (default: settings)")
    parse.add_argument("--overlap", type=int, help="tile overlap (default: settings)")
    parse.add_argument("--repeats", type=int, default=1, help="timed runs of each (default 1)")
    measure(parse.parse_args())


if __name__ == "__main__":
    main()
