"""GPU grid: an SDXL-shaped pipeline, our engine's settings vs bare diffusers defaults.

The pipeline has SDXL base 1.0's architecture (UNet, VAE, both CLIP text encoders; the configs
are written out below) with randomly initialised weights built on the machine, so nothing is
downloaded: speed does not depend on weight values. A grid is four 1024x1024 images, 30 steps,
guidance on (the UNet runs a batch of 8); the draft grid is SDXL-Turbo-shaped: the same
architecture at 512x512, 4 steps, no guidance.

Rows: "bare" is diffusers with default settings (float16 on a GPU, default attention, nothing
else); "ours" is the engine's ``[engine]`` settings for this device, applied by the same code
as a loaded preset (``imagine_bot.engine.gpu.acceleration``), called the way the generate stage
calls it; "ours+compile" adds ``torch.compile`` (``--compile``), timed after its warm-up.
Model FLOP utilisation counts the matmul/convolution FLOPs of the text encoders, every UNet
step and the VAE decode (``torch.utils.flop_counter``) against the GPU's dense bf16 peak.
Targets on one H100: <= 3.5 s per grid, draft <= 0.5 s, never slower than bare.

Without a GPU the same code runs a scaled-down SDXL-shaped config (``--config small``) at
128x128, 10 steps, draft 128x128 (``--smoke``: 64x64, 2 steps), and the real SDXL FLOPs per
grid are still counted, on the meta device, which gives the compute floor on an H100.
"""

from __future__ import annotations

import copy
from typing import Any

import _common

GRID = 4
GRID_TARGET_S = 3.5
DRAFT_TARGET_S = 0.5
PROMPT = "a lighthouse at dusk, oil painting"
NEGATIVE = "lowres, blurry"

# stabilityai/stable-diffusion-xl-base-1.0, unet/config.json (fields that differ from defaults)
SDXL_UNET: dict[str, Any] = {
    "sample_size": 128,
    "in_channels": 4,
    "out_channels": 4,
    "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    "up_block_types": ("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    "block_out_channels": (320, 640, 1280),
    "layers_per_block": 2,
    "transformer_layers_per_block": (1, 2, 10),
    "attention_head_dim": (5, 10, 20),  # diffusers' name for the number of heads
    "cross_attention_dim": 2048,
    "use_linear_projection": True,
    "addition_embed_type": "text_time",
    "addition_time_embed_dim": 256,
    "projection_class_embeddings_input_dim": 2816,  # 1280 pooled text + 6 time ids x 256
    "norm_num_groups": 32,
}
# vae/config.json
SDXL_VAE: dict[str, Any] = {
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ("DownEncoderBlock2D",) * 4,
    "up_block_types": ("UpDecoderBlock2D",) * 4,
    "block_out_channels": (128, 256, 512, 512),
    "layers_per_block": 2,
    "latent_channels": 4,
    "norm_num_groups": 32,
    "sample_size": 1024,
    "scaling_factor": 0.13025,
    "force_upcast": True,
}
# text_encoder (CLIP ViT-L/14) and text_encoder_2 (OpenCLIP ViT-bigG/14, with projection)
SDXL_TEXT_1: dict[str, Any] = {
    "vocab_size": 49408,
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "max_position_embeddings": 77,
    "hidden_act": "quick_gelu",
    "projection_dim": 768,
}
SDXL_TEXT_2: dict[str, Any] = {
    "vocab_size": 49408,
    "hidden_size": 1280,
    "intermediate_size": 5120,
    "num_hidden_layers": 32,
    "num_attention_heads": 20,
    "max_position_embeddings": 77,
    "hidden_act": "gelu",
    "projection_dim": 1280,
}
# The same topology scaled down for CPUs: every block type, both text encoders, text_time.
SMALL_UNET = {
    **SDXL_UNET,
    "block_out_channels": (32, 64, 128),
    "transformer_layers_per_block": (1, 1, 2),
    "attention_head_dim": (1, 2, 4),
    "cross_attention_dim": 96,
    "addition_time_embed_dim": 8,
    "projection_class_embeddings_input_dim": 64 + 6 * 8,
}
SMALL_VAE = {**SDXL_VAE, "block_out_channels": (32, 32, 64, 64), "layers_per_block": 1}
SMALL_TEXT_1 = {
    **SDXL_TEXT_1,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "projection_dim": 32,
}
SMALL_TEXT_2 = {
    **SDXL_TEXT_2,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "projection_dim": 64,
}
CONFIGS = {
    "sdxl": (SDXL_UNET, SDXL_VAE, SDXL_TEXT_1, SDXL_TEXT_2),
    "small": (SMALL_UNET, SMALL_VAE, SMALL_TEXT_1, SMALL_TEXT_2),
}
# Dense bfloat16 tensor-core peaks, TFLOP/s, from NVIDIA's data sheets (without sparsity).
PEAK_BF16_TFLOPS = (
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.4),
    ("H200", 989.4),
    ("GH200", 989.4),
    ("A100", 312.0),
    ("L40S", 362.0),
    ("L4", 121.0),
    ("A10", 125.0),
    ("RTX 4090", 165.2),
)


def build_components(config: str, device: Any) -> dict[str, Any]:
    """The SDXL-shaped modules in float32 with random weights, built on ``device``."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    from imagine_bot.engine.gpu.tiny.parts import clip_tokenizer

    unet_config, vae_config, text_1, text_2 = CONFIGS[config]
    tokenizer = clip_tokenizer()  # character-level CLIP BPE: offline, any text encodes
    ids = {
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    torch.manual_seed(0)
    with torch.device(device):
        components = {
            "unet": UNet2DConditionModel(**unet_config),
            "vae": AutoencoderKL(**vae_config),
            "text_encoder": CLIPTextModel(CLIPTextConfig(**text_1, **ids)),
            "text_encoder_2": CLIPTextModelWithProjection(CLIPTextConfig(**text_2, **ids)),
        }
    for module in components.values():
        module.eval().requires_grad_(False)
    return {
        **components,
        "tokenizer": tokenizer,
        "tokenizer_2": tokenizer,
        # scheduler/scheduler_config.json of SDXL base
        "scheduler": EulerDiscreteScheduler(
            beta_start=0.00085,
            beta_end=0.012,
            beta_schedule="scaled_linear",
            steps_offset=1,
            timestep_spacing="leading",
        ),
    }


def make_pipeline(components: dict[str, Any], dtype: Any) -> Any:
    """A pipeline over private copies of the modules in ``dtype``."""
    from diffusers import StableDiffusionXLPipeline

    copies = {
        name: copy.deepcopy(value).to(dtype) if hasattr(value, "parameters") else value
        for name, value in components.items()
    }
    copies["scheduler"] = copy.deepcopy(components["scheduler"])
    pipeline = StableDiffusionXLPipeline(**copies, add_watermarker=False)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def count_flops(
    pipeline: Any, width: int, height: int, steps: int, guidance: float
) -> dict[str, int]:
    """Matmul and convolution FLOPs of one grid: text encoders, every UNet step, VAE decode."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    device = pipeline.unet.device
    dtype = pipeline.unet.dtype
    batch = GRID * (2 if guidance > 1 else 1)
    with torch.no_grad():
        with FlopCounterMode(display=False) as text:
            pipeline.encode_prompt(
                prompt=[PROMPT] * GRID,
                negative_prompt=[NEGATIVE] * GRID,
                device=device,
                do_classifier_free_guidance=guidance > 1,
            )
        latent = torch.zeros(batch, 4, height // 8, width // 8, device=device, dtype=dtype)
        with FlopCounterMode(display=False) as unet:
            pipeline.unet(
                latent,
                torch.tensor(999.0, device=device),
                torch.zeros(
                    batch, 77, pipeline.unet.config.cross_attention_dim, device=device, dtype=dtype
                ),
                added_cond_kwargs={
                    "text_embeds": torch.zeros(
                        batch,
                        pipeline.text_encoder_2.config.projection_dim,
                        device=device,
                        dtype=dtype,
                    ),
                    "time_ids": torch.zeros(batch, 6, device=device, dtype=dtype),
                },
            )
        with FlopCounterMode(display=False) as vae:
            pipeline.vae.decode(latent[:GRID], return_dict=False)
    per_step = unet.get_total_flops()
    return {
        "text": text.get_total_flops(),
        "unet_step": per_step,
        "vae": vae.get_total_flops(),
        "total": text.get_total_flops() + steps * per_step + vae.get_total_flops(),
    }


def sdxl_flops_on_meta(width: int, height: int, steps: int, guidance: float) -> dict[str, int]:
    """The real SDXL architecture's FLOPs per grid, counted without memory or compute."""
    import torch

    components = build_components("sdxl", torch.device("meta"))
    return count_flops(make_pipeline(components, torch.float32), width, height, steps, guidance)


def grid_call(
    pipeline: Any, models: Any, width: int, height: int, steps: int, guidance: float
) -> None:
    """One grid: with ``models`` (a ``ModelRegistry``) the way the engine's generate stage
    runs it (``run_pipeline``: fresh scheduler, text conditioning, step hooks, per-image
    generators); without, the plain diffusers call a user would write."""
    import torch

    seeds = tuple(range(GRID))
    if models is None:
        pipeline(
            prompt=[PROMPT] * GRID,
            negative_prompt=[NEGATIVE] * GRID,
            width=width,
            height=height,
            num_inference_steps=steps,
            guidance_scale=guidance,
            generator=[torch.Generator("cpu").manual_seed(seed) for seed in seeds],
        )
        return
    from imagine_bot.engine.control import JobControl
    from imagine_bot.engine.gpu.sampling import run_pipeline
    from imagine_bot.engine.spec import GenerationSpec, PromptPart

    spec = GenerationSpec(
        prompt=PROMPT,
        parts=(PromptPart(text=PROMPT),),
        negative_prompt=NEGATIVE,
        model="sdxl-shaped",
        width=width,
        height=height,
        steps=steps,
        guidance=guidance,
        scheduler="default",  # the pipeline's own (SDXL's Euler), as in the bare call
        seeds=seeds,
        lane="fast",
    )
    run_pipeline(pipeline, spec, models, JobControl(), width=width, height=height)


def peak_tflops(args: Any) -> float | None:
    import torch

    if args.peak_tflops:
        return float(args.peak_tflops)
    if not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name()
    return next((peak for key, peak in PEAK_BF16_TFLOPS if key in name), None)


def measure(args: Any) -> None:
    import diffusers
    import torch

    from imagine_bot.engine.gpu import acceleration
    from imagine_bot.engine.gpu.families import FAMILIES

    # Casting random-weight modules with .to(dtype) makes diffusers warn about nothing.
    diffusers.utils.logging.set_verbosity_error()
    # Random weights drive some activations into subnormal floats, which CPUs run several
    # times slower than trained weights ever do; flushing them keeps the timing honest.
    torch.set_flush_denormal(True)

    settings = _common.settings(args)
    on_gpu = torch.cuda.is_available()
    device = torch.device("cuda" if on_gpu else "cpu")
    config = args.config or ("sdxl" if on_gpu and not args.smoke else "small")
    if args.smoke:
        size, steps, draft_size, draft_steps, repeats = 64, 2, 64, 1, 1
    else:
        # On a CPU the defaults are small enough for a run of a few minutes.
        size = args.size or (1024 if on_gpu else 128)
        steps = args.steps or (30 if on_gpu else 10)
        draft_size = args.draft_size or (512 if on_gpu else 128)
        draft_steps = args.draft_steps
        repeats = args.repeats or (5 if on_gpu else 2)
    guidance = args.guidance

    components = build_components(config, device)
    plan = acceleration.plan_acceleration(settings.engine, acceleration.probe_device(device))
    # diffusers' defaults as a user would load SDXL: float16 on a GPU, float32 on a CPU.
    bare_dtype = torch.float16 if on_gpu else torch.float32
    variants: dict[str, Any] = {"bare": make_pipeline(components, bare_dtype).to(device)}
    flops = count_flops(variants["bare"], size, size, steps, guidance)
    draft_flops = count_flops(variants["bare"], draft_size, draft_size, draft_steps, 0.0)
    variants["ours"] = make_pipeline(components, plan.dtype)
    acceleration.accelerate(variants["ours"], plan)
    compile_seconds = None
    if args.compile:
        from dataclasses import replace

        compiled = replace(plan, compile=True)
        variants["ours+compile"] = make_pipeline(components, plan.dtype)
        acceleration.accelerate(variants["ours+compile"], compiled)
    del components

    cases = [
        ("grid", size, steps, guidance, flops),
        ("draft", draft_size, draft_steps, 0.0, draft_flops),
    ]

    registry = _common.registry_of_family(settings, FAMILIES["sdxl"])

    def run(name: str, case: tuple[Any, ...]) -> float:
        _, width, case_steps, case_guidance, _ = case
        models = None if name == "bare" else registry
        return _common.timed(
            lambda: grid_call(variants[name], models, width, width, case_steps, case_guidance)
        )

    # Warm-up (and compilation) is start-up work, not the grid's.
    for name in variants:
        for case in cases:
            seconds = run(name, case)
            if name == "ours+compile":
                compile_seconds = (compile_seconds or 0.0) + seconds
    times: dict[tuple[str, str], list[float]] = {}
    for repeat in range(repeats):
        for name in list(variants) if repeat % 2 == 0 else list(reversed(variants)):
            for case in cases:
                times.setdefault((name, case[0]), []).append(run(name, case))
    peak_memory = torch.cuda.max_memory_allocated() / 2**30 if on_gpu else None

    peak = peak_tflops(args)
    rows: list[dict[str, Any]] = []
    for label, width, case_steps, case_guidance, case_flops in cases:
        bare_s = _common.median(times[("bare", label)])
        for name in variants:
            seconds = _common.median(times[(name, label)])
            achieved = case_flops["total"] / seconds / 1e12
            rows.append(
                {
                    "grid": f"{label}: 4x {width}x{width}, {case_steps} steps, "
                    f"guidance {'on' if case_guidance > 1 else 'off'}",
                    "variant": name,
                    "dtype": str(variants[name].unet.dtype).removeprefix("torch."),
                    "s per grid": seconds,
                    "it/s": case_steps / seconds,
                    "vs bare": seconds / bare_s,
                    "vs bare (minima)": min(times[(name, label)]) / min(times[("bare", label)]),
                    "TFLOP/s": achieved,
                    "MFU": achieved / peak if peak else None,
                    "TFLOP per grid": case_flops["total"] / 1e12,
                    "all s": [round(value, 4) for value in times[(name, label)]],
                }
            )

    def best_ours(case: str) -> float:
        return min(
            float(row["s per grid"])
            for row in rows
            if row["grid"].startswith(case) and row["variant"] != "bare"
        )

    summary: dict[str, Any] = {
        "config": config,
        "device": torch.cuda.get_device_name() if on_gpu else "cpu",
        "peak bf16 TFLOP/s used for MFU": peak,
        "grid s (best ours)": best_ours("grid"),
        "draft s (best ours)": best_ours("draft"),
        "targets (one H100)": (
            f"grid <= {GRID_TARGET_S} s, draft <= {DRAFT_TARGET_S} s, ours <= bare"
        ),
        "peak VRAM GiB": peak_memory,
        "compile + warm-up s": compile_seconds,
    }
    if config != "sdxl" or args.smoke:
        real = sdxl_flops_on_meta(1024, 1024, 30, 7.0)
        real_draft = sdxl_flops_on_meta(512, 512, 4, 0.0)
        summary["real SDXL TFLOP per 1024^2 grid (30 steps, CFG)"] = real["total"] / 1e12
        summary["real SDXL-Turbo TFLOP per 512^2 draft grid (4 steps)"] = real_draft["total"] / 1e12
        summary["H100 compute floor s (grid / draft)"] = (
            f"{real['total'] / 989.4e12:.2f} / {real_draft['total'] / 989.4e12:.3f}"
        )
    _common.report(
        "gpu_grid",
        args,
        [
            "grid",
            "variant",
            "dtype",
            "s per grid",
            "it/s",
            "vs bare",
            "vs bare (minima)",
            "TFLOP/s",
            "MFU",
            "TFLOP per grid",
        ],
        rows,
        parameters={
            "config": config,
            "size": size,
            "steps": steps,
            "guidance": guidance,
            "draft_size": draft_size,
            "draft_steps": draft_steps,
            "repeats": repeats,
            "ours": {
                "dtype": str(plan.dtype),
                "attention": plan.attention,
                "channels_last": plan.channels_last,
                "vae_slice_above": plan.vae_slice_above,
                "vae_tile_above": plan.vae_tile_above,
                "cpu_offload": plan.cpu_offload,
                "compile_mode": plan.compile_mode,
            },
        },
        summary=summary,
        notes=[
            "random weights with SDXL's shapes; FLOPs are matmuls and convolutions only",
            "it/s = denoising steps per second of the whole grid call, text encoding and "
            "VAE decode included",
        ],
    )


def main() -> None:
    parse = _common.parser("gpu_grid", __doc__.splitlines()[0])
    parse.add_argument(
        "--config", choices=sorted(CONFIGS), help="default: sdxl on a GPU, small on a CPU"
    )
    parse.add_argument("--size", type=int, help="grid image side (default 1024; CPU 128)")
    parse.add_argument("--steps", type=int, help="grid steps (default 30; CPU 10)")
    parse.add_argument("--guidance", type=float, default=6.0)
    parse.add_argument("--draft-size", type=int, help="draft image side (default 512; CPU 128)")
    parse.add_argument("--draft-steps", type=int, default=4, choices=(1, 2, 3, 4))
    parse.add_argument("--repeats", type=int, help="timed runs of each (default 5; CPU 2)")
    parse.add_argument("--compile", action="store_true", help="also time ours with torch.compile")
    parse.add_argument(
        "--peak-tflops", type=float, help="dense bf16 peak for MFU (default: known GPUs)"
    )
    measure(parse.parse_args())


if __name__ == "__main__":
    main()
