"""Step caching on the CPU: block computations skipped, time, and the change in the image.

Each row runs one model with one ``engine.cache`` setting through the engine's own
``run_pipeline`` (the cache attached for the call, as for a job), against the same model and
seeds with the cache off. Counted, not estimated: a hook on every transformer counts its calls,
and a hook on the first linear layer of every repeated block counts the blocks that ran (a
skipped block never reaches its layers). PSNR compares the 8-bit images with the uncached
ones of the same seeds.

Models: the built-in tiny FLUX.1 and Z-Image presets (random weights), and "smooth-flux", a
FLUX.1-shaped transformer of 2 double and 6 single blocks whose timestep embedding keeps only
the frequencies slower than a step. A random model's blocks react to the sinusoids of the
timestep embedding whose period is shorter than one step, so its first block's output jumps
at every step and First-Block Cache never finds two steps alike; a trained model does not
depend on those frequencies. The smoothed model stands in for that; it is still no trained
model, so its skip rate and PSNR show that the mechanism works, not what FLUX.1 [dev] gets.
"""

from __future__ import annotations

import functools
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import _common

GOAL_SKIPPED = 0.40
GOAL_PSNR = 30.0
SMOOTH = "smooth-flux"
PROMPT = "a lighthouse at dusk, oil painting"


def build_smooth_flux(folder: Path) -> Path:
    """The tiny FLUX.1 pipeline with a larger transformer, timestep embedding smoothed."""
    import torch
    from diffusers import FluxTransformer2DModel

    from imagine_bot.engine.gpu.tiny import build_builtin
    from imagine_bot.engine.gpu.tiny.parts import seeded

    pipeline = build_builtin("builtin:tiny-flux")
    with seeded():
        transformer = FluxTransformer2DModel(
            patch_size=1,
            in_channels=64,
            num_layers=2,
            num_single_layers=6,
            attention_head_dim=16,
            num_attention_heads=4,
            joint_attention_dim=32,
            pooled_projection_dim=32,
            guidance_embeds=True,
            axes_dims_rope=(4, 6, 6),
        )
    embed = transformer.time_text_embed
    with torch.no_grad():
        for embedder in (embed.timestep_embedder, embed.guidance_embedder):
            weight = embedder.linear_1.weight  # columns: cos of 128 frequencies, then sin
            half = weight.shape[1] // 2
            # Frequency k is 10000^(-k/half) per unit of FLUX's timestep (0..1000); at 28
            # steps a step moves it by up to 1000/28, so keep the frequencies it moves by
            # less than half a radian: k above half * log(71) / log(10000).
            fast = int(half * math.log(1000 / 28 / 0.5) / math.log(10000)) + 1
            weight[:, :fast] = 0
            weight[:, half : half + fast] = 0
    pipeline.transformer = transformer
    pipeline.save_pretrained(folder)
    return folder


class BlockCounter:
    """Counts a transformer's calls and the repeated blocks that really ran."""

    def __init__(self, transformer: Any) -> None:
        import torch

        from imagine_bot.engine.gpu.step_cache import block_lists

        self.calls = 0
        self.blocks = 0
        transformer.register_forward_pre_hook(self._called)
        for blocks in block_lists(transformer):
            for block in blocks:
                first = next(m for m in block.modules() if isinstance(m, torch.nn.Linear))
                first.register_forward_pre_hook(self._block_ran)

    def _called(self, *_: Any) -> None:
        self.calls += 1

    def _block_ran(self, *_: Any) -> None:
        self.blocks += 1

    def reset(self) -> None:
        self.calls = self.blocks = 0


def psnr(images: list[Any], reference: list[Any]) -> float:
    import numpy as np

    a = np.stack([np.asarray(image, dtype=np.float64) for image in images])
    b = np.stack([np.asarray(image, dtype=np.float64) for image in reference])
    mse = float(((a - b) ** 2).mean())
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def measure(args: Any) -> None:
    import torch

    from imagine_bot.engine.control import JobControl
    from imagine_bot.engine.gpu.models import ModelRegistry
    from imagine_bot.engine.gpu.sampling import run_pipeline
    from imagine_bot.engine.spec import GenerationSpec, PromptPart

    torch.set_flush_denormal(True)  # random weights: see gpu_grid.py
    steps = 4 if args.smoke else args.steps
    size = 64 if args.smoke else args.size
    repeats = 1 if args.smoke else args.repeats
    models = args.models or ([SMOOTH] if args.smoke else ["tiny-flux", "tiny-zimage", SMOOTH])
    settings_rows: list[tuple[str, dict[str, str]]] = [("off", {})] + [
        (label, {"IMAGINE_ENGINE__CACHE": name, **extra})
        for label, name, extra in (
            (
                "first_block 0.08 (FLUX.1 auto)",
                "first_block",
                {"IMAGINE_ENGINE__CACHE_THRESHOLD": "0.08"},
            ),
            (
                "first_block 0.12 (FLUX.1 --draft)",
                "first_block",
                {"IMAGINE_ENGINE__CACHE_THRESHOLD": "0.12"},
            ),
            ("taylorseer 4", "taylorseer", {"IMAGINE_ENGINE__CACHE_INTERVAL": "4"}),
        )
    ]
    seeds = tuple(range(args.images))
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as scratch:
        smooth = {
            "IMAGINE_MODELS__SMOOTH-FLUX__SOURCE": str(build_smooth_flux(Path(scratch) / SMOOTH)),
            "IMAGINE_MODELS__SMOOTH-FLUX__FAMILY": "flux1",
        }
        for model in models:
            reference: list[Any] = []
            off_seconds = full_blocks = 0.0
            for label, env in settings_rows:
                settings = _common.settings(args, {**smooth, **env})
                registry = ModelRegistry(settings)
                registry.claim_thread()
                pipeline = registry.pipeline(model)
                defaults = registry.family(model).step_cache
                if "first_block" in label and defaults is not None and not defaults.first_block:
                    continue  # the engine would run it without a cache (and warn)
                counter = BlockCounter(pipeline.transformer)
                spec = GenerationSpec(
                    prompt=PROMPT,
                    parts=(PromptPart(text=PROMPT),),
                    negative_prompt="",
                    model=model,
                    width=size,
                    height=size,
                    steps=steps,
                    guidance=settings.models[model].guidance,
                    scheduler="default",
                    seeds=seeds,
                    lane="fast",
                )
                control = JobControl()

                job = functools.partial(
                    run_pipeline, pipeline, spec, registry, control, width=size, height=size
                )
                job()  # warm-up: first-call costs are not the cache's
                counter.reset()
                times, images = [], []
                for _ in range(repeats):
                    started = time.perf_counter()
                    images = job()
                    times.append(time.perf_counter() - started)
                seconds = _common.median(times)
                if label == "off":
                    reference, off_seconds = images, seconds
                    full_blocks = counter.blocks / repeats
                blocks = counter.blocks / repeats
                rows.append(
                    {
                        "model": model,
                        "cache": label,
                        "steps": steps,
                        "transformer calls per image": counter.calls / repeats / len(seeds),
                        "blocks run per image": blocks / len(seeds),
                        "blocks skipped": 1 - blocks / full_blocks,
                        "s": seconds,
                        "vs off": seconds / off_seconds,
                        "PSNR dB": psnr(images, reference),
                        "metadata": control.notes.get("Step cache", "-"),
                    }
                )
    smooth_auto = next(
        (r for r in rows if r["model"] == SMOOTH and r["cache"].startswith("first_block 0.08")),
        None,
    )
    summary: dict[str, Any] = {
        "goal": f">= {GOAL_SKIPPED:.0%} blocks skipped, PSNR >= {GOAL_PSNR} dB"
    }
    if smooth_auto is not None:
        summary[f"{SMOOTH}, FLUX.1 auto cache: blocks skipped"] = smooth_auto["blocks skipped"]
        summary[f"{SMOOTH}, FLUX.1 auto cache: PSNR dB"] = smooth_auto["PSNR dB"]
    _common.report(
        "caching",
        args,
        [
            "model",
            "cache",
            "steps",
            "transformer calls per image",
            "blocks run per image",
            "blocks skipped",
            "s",
            "vs off",
            "PSNR dB",
            "metadata",
        ],
        rows,
        parameters={"size": size, "steps": steps, "images": len(seeds), "repeats": repeats},
        summary=summary,
        notes=[
            "calls and blocks are per image of a batch of --images (one transformer call "
            "serves the whole batch); s is one pipeline call, median of --repeats",
            f"{SMOOTH}: random FLUX.1-shaped weights with the timestep embedding's fast "
            "frequencies zeroed, standing in for a trained model (see the docstring)",
        ],
    )


def main() -> None:
    parse = _common.parser("caching", __doc__.splitlines()[0])
    parse.add_argument(
        "--models", nargs="+", help=f"presets (default tiny-flux tiny-zimage {SMOOTH})"
    )
    parse.add_argument("--steps", type=int, default=28, help="FLUX.1 [dev]'s 28 by default")
    parse.add_argument("--size", type=int, default=128)
    parse.add_argument("--images", type=int, default=1)
    parse.add_argument("--repeats", type=int, default=3)
    measure(parse.parse_args())


if __name__ == "__main__":
    main()
