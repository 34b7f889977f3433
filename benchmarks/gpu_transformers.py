"""GPU transformers: FLUX.1 [dev]- and Z-Image-shaped pipelines, plain diffusers vs ours,
then + regional compilation, + step cache, + fp8.

The transformers and the VAE are built from the real configs (written out below) with random
weights in bfloat16 on the machine, so nothing is downloaded; speed does not depend on weight
values. The text encoders (T5-XXL, Qwen3-4B) are left out: the prompts come as random
embeddings of the real shapes, and text encoding is under 0.2 % of a 28-step image's FLOPs.

Rows, per model, for one 1024x1024 image and a grid of four: "diffusers" is the pipeline as
diffusers builds it in bfloat16; "ours" adds the engine's ``[engine]`` settings for the device
(``acceleration.accelerate``) and runs through the engine's ``run_pipeline``; "+compile" adds
regional compilation (timed after its warm-up); "+cache" adds the family's auto step cache;
"+fp8" puts the transformer's linear layers in float8 (torchao). Each row says its peak VRAM,
its counted FLOPs (``torch.utils.flop_counter`` on the meta device: transformer steps and VAE
decode), MFU against the dense bfloat16 peak, and the PSNR of its first image against "ours"
(same seed): what the cache and fp8 change in the picture. One timed run per row: the rows
fit one device call only without repeats. Rows run in order until ``--budget`` seconds are
spent; the rest are listed as not run.

Published figures for FLUX.1 [dev] at 1024x1024, 28 steps, on one H100: about 7 s in plain
diffusers, 4.3 s with torch.compile, 1.9 s with First-Block Cache (and compile, fp8).

``--smoke`` runs the same code on the CPU with configs of the same topology at a few dozen
channels; compilation then traces with torch's ``eager`` backend (no code generation), and
fp8 rows record why they cannot run there.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any

import _common
from _transformer_shapes import MODELS, build, count_flops, prompt_inputs

PEAK_BF16_TFLOPS = 989.4
"""H100 SXM, dense; other GPUs: ``--peak-tflops``."""
PUBLISHED = "about 7 s diffusers, 4.3 s torch.compile, 1.9 s First-Block Cache"
VARIANTS = ("diffusers", "ours", "+compile", "+compile +cache", "+compile +cache +fp8")


def variant_settings(args: Any, variant: str, family: Any) -> Any:
    """The engine settings of a variant: the device's own, plus cache and fp8 (compiling is
    done once, in place, by ``measure``)."""
    overrides = {"IMAGINE_ENGINE__CACHE": "off", "IMAGINE_ENGINE__DTYPE": "bfloat16"}
    if "+cache" in variant:
        # auto would leave a CPU smoke run uncached: the family's cache by name there.
        overrides["IMAGINE_ENGINE__CACHE"] = "auto" if not args.smoke else family.step_cache.cache
    if "+fp8" in variant:
        overrides["IMAGINE_ENGINE__DTYPE"] = "fp8"
    return _common.settings(args, overrides)


def generate(
    pipeline: Any, models: Any, model: str, size: int, images: int, steps: int
) -> list[Any]:
    """One call: ``models`` None, the plain diffusers call; else the engine's own
    ``call_pipeline`` (fresh scheduler, step hooks, step cache), prompts as embeddings."""
    import torch

    from imagine_bot.engine.control import JobControl
    from imagine_bot.engine.gpu.conditioning import TextConditioning
    from imagine_bot.engine.gpu.sampling import StepHooks, call_pipeline, seed_generators
    from imagine_bot.engine.spec import GenerationSpec, PromptPart

    guidance = MODELS[model][2]
    device = pipeline.transformer.device
    inputs = prompt_inputs(pipeline, model, images, device)
    seeds = tuple(range(images))
    if models is None:
        out = pipeline(
            **inputs,
            width=size,
            height=size,
            num_inference_steps=steps,
            guidance_scale=guidance,
            generator=seed_generators(seeds),
        )
        return list(out.images)
    spec = GenerationSpec(
        prompt="random embeddings",
        parts=(PromptPart(text="random embeddings"),),
        negative_prompt="",
        model=model,
        width=size,
        height=size,
        steps=steps,
        guidance=guidance,
        scheduler="default",
        seeds=seeds,
        lane="fast",
    )
    family = models.family(model)
    pipeline.scheduler = models.fresh_scheduler(pipeline, spec.scheduler)
    text = TextConditioning(inputs)
    hooks = StepHooks(spec, JobControl(), text, family)
    with torch.no_grad():
        return call_pipeline(pipeline, spec, models, text, hooks, width=size, height=size)


def psnr(image: Any, reference: Any) -> float:
    import numpy as np

    a, b = (np.asarray(x, dtype=np.float64) for x in (image, reference))
    mse = float(((a - b) ** 2).mean())
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def prepare(variant: str, pipeline: Any, models: Any, device: Any) -> None:
    """Take the pipeline from the previous variant to ``variant``, in place."""
    from imagine_bot.engine.gpu import acceleration
    from imagine_bot.engine.gpu.fp8 import quantize_fp8

    if variant == "diffusers":
        pipeline.to(device)
    elif variant == "ours":
        acceleration.accelerate(pipeline, replace(models.acceleration, compile=False))
    elif variant == "+compile":
        acceleration.compile_blocks(pipeline.transformer, models.acceleration.compile_mode)
    elif variant.endswith("+fp8"):
        quantize_fp8(pipeline.transformer)


def timed_call(pipeline: Any, models: Any, model: str, size: int, images: int, steps: int) -> Any:
    """Seconds and images of one call, after a short warm-up call (compiling, if need be)."""
    import torch

    warm = time.perf_counter()
    generate(pipeline, models, model, size, images, 1)  # one step runs every block
    warm_seconds = time.perf_counter() - warm
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    out: list[Any] = []
    seconds = _common.timed(
        lambda: out.extend(generate(pipeline, models, model, size, images, steps))
    )
    return seconds, warm_seconds, out


def measure(args: Any) -> None:
    import diffusers
    import torch

    from imagine_bot.engine.errors import UserError
    from imagine_bot.engine.gpu.families import FAMILIES

    diffusers.utils.logging.set_verbosity_error()
    torch.set_flush_denormal(True)
    on_gpu = torch.cuda.is_available() and not args.smoke
    device = torch.device("cuda" if on_gpu else "cpu")
    size = args.size or (1024 if on_gpu else 32)
    budget = math.inf if args.smoke else args.budget
    if args.smoke:
        # Trace the compiled blocks with the eager backend: inductor's C++ build on a CPU
        # takes minutes, and tracing is what meets the cache's hooks.
        compile_for_real = torch.compile
        torch.compile = lambda fn, **_: compile_for_real(fn, backend="eager")
    peak = args.peak_tflops or PEAK_BF16_TFLOPS
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for model in args.models:
        family = FAMILIES[MODELS[model][0]]
        steps = args.steps or (2 if args.smoke else MODELS[model][1])
        flops = {n: count_flops(model, not on_gpu, size, steps, n)["total"] for n in (1, 4)}
        pipeline = build(model, not on_gpu, device)
        reference: dict[int, Any] = {}
        for variant in VARIANTS:
            try:
                settings = variant_settings(args, variant, family)
                models = None
                if variant != "diffusers":
                    models = _common.registry_of_family(settings, family)
            except UserError as exc:  # fp8 where it cannot run
                rows += [{"model": model, "variant": variant, "note": f"not run: {exc}"}]
                continue
            prepare(variant, pipeline, models, device)
            for images in (1, 4):
                row: dict[str, Any] = {"model": model, "images": images, "variant": variant}
                rows.append(row)
                if time.perf_counter() - started > budget:
                    row["note"] = "not run: over the time budget"
                    continue
                seconds, warm, out = timed_call(pipeline, models, model, size, images, steps)
                if variant == "ours":
                    reference[images] = out[0]
                achieved = flops[images] / seconds / 1e12
                row.update(
                    {
                        "s": seconds,
                        "s per image": seconds / images,
                        "warm-up s": warm,
                        "TFLOP per call": flops[images] / 1e12,
                        "TFLOP/s": achieved,
                        "MFU": achieved / peak if on_gpu else None,
                        "peak VRAM GiB": torch.cuda.max_memory_allocated() / 2**30
                        if on_gpu
                        else None,
                        "PSNR vs ours dB": psnr(out[0], reference[images])
                        if images in reference
                        else None,
                    }
                )
        del pipeline
        if on_gpu:
            torch.cuda.empty_cache()
    floors = {
        model: count_flops(model, False, 1024, MODELS[model][1], 1)["total"] / peak / 1e12
        for model in MODELS
    }
    _common.report(
        "gpu_transformers",
        args,
        [
            "model",
            "images",
            "variant",
            "s",
            "s per image",
            "warm-up s",
            "TFLOP per call",
            "TFLOP/s",
            "MFU",
            "peak VRAM GiB",
            "PSNR vs ours dB",
            "note",
        ],
        rows,
        parameters={
            "size": size,
            "models": args.models,
            "small": not on_gpu,
            "budget": args.budget,
        },
        summary={
            "published, FLUX.1 [dev] 1024^2 28 steps, one H100": PUBLISHED,
            **{f"compute floor s, {m} 1024^2 1 image": floor for m, floor in floors.items()},
        },
        notes=[
            "random weights of the real shapes; text encoders left out (random embeddings)",
            "variants are cumulative, applied in place to one pipeline in the order listed",
            "MFU against the dense bfloat16 peak, fp8 rows too (float8's peak is twice that)",
        ],
    )


def main() -> None:
    parse = _common.parser("gpu_transformers", __doc__.splitlines()[0])
    parse.add_argument("--models", nargs="+", choices=sorted(MODELS), default=list(MODELS))
    parse.add_argument("--size", type=int, help="image side (default 1024; CPU 32)")
    parse.add_argument("--steps", type=int, help="default: the model's (28); smoke 2")
    parse.add_argument(
        "--budget", type=float, default=200.0, help="seconds before rows are skipped"
    )
    parse.add_argument(
        "--peak-tflops", type=float, help=f"dense bf16 peak (default {PEAK_BF16_TFLOPS})"
    )
    measure(parse.parse_args())


if __name__ == "__main__":
    main()
