"""How a loaded pipeline is made fast on its device.

Each knob is a setting in ``[engine]`` whose ``"auto"`` value is decided here, per device:

| setting          | CUDA "auto"                                  | CPU "auto"        |
| ---------------- | -------------------------------------------- | ----------------- |
| dtype            | bfloat16 where supported, else float16       | float32           |
| attention        | PyTorch SDPA (flash / memory-efficient)      | PyTorch SDPA      |
| channels_last    | on (tensor-core convolutions want NHWC)      | off               |
| cpu_offload      | model offload when the weights take more     | off (ignored,     |
|                  | than half the GPU's memory                   | with a warning)   |
| compile          | off unless set; mode max-autotune (no graphs)| off unless set    |
|                  | (transformers: each repeated block)          |                   |
| dtype "fp8"      | float8 linear layers (torchao), sm 8.9+      | refused           |
| VAE slice / tile | above the pixel thresholds, on every device  | same              |

bfloat16 rather than float16 on GPUs that have it: the same tensor-core speed, and SDXL's VAE
overflows in float16, which makes diffusers upcast it to float32 for every decode.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import torch
from diffusers import DiffusionPipeline
from diffusers.models.attention_processor import AttnProcessor, AttnProcessor2_0

from imagine_bot.config.engine import EngineSettings
from imagine_bot.engine.errors import UserError
from imagine_bot.engine.gpu.fp8 import check_fp8_device, quantize_fp8
from imagine_bot.engine.spec import GRID_SIZE

log = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
OFFLOAD_WEIGHT_SHARE = 0.5
"""``cpu_offload = "auto"`` offloads when the weights take more than this share of the GPU."""
WARM_UP_STEPS = 2
"""Enough to run the compiled UNet after compiling it, and to pick every kernel once."""
_ACCELERATORS = ("cuda", "xpu")
"""Device types accelerate's CPU offload can move models onto."""

Offload = Literal["off", "model", "sequential"]


@dataclass(frozen=True)
class DeviceTraits:
    """What the defaults depend on; read from the device by ``probe_device``."""

    device: torch.device
    total_memory: int | None = None
    """Bytes of accelerator memory; ``None`` where models live in host memory."""
    bf16: bool = False
    """Whether the device runs bfloat16 at full speed."""
    capability: tuple[int, int] | None = None
    """A CUDA GPU's compute capability (float8 tensor cores from 8.9)."""


@dataclass(frozen=True)
class Acceleration:
    """The engine settings with every ``"auto"`` decided for one device."""

    device: torch.device
    dtype: torch.dtype
    attention: Literal["sdpa", "eager"]
    channels_last: bool
    vae_slice_above: int
    vae_tile_above: int
    cpu_offload: Offload | Literal["auto"]
    """``"auto"`` is decided per pipeline, from its weights and ``total_memory``."""
    total_memory: int | None
    compile: bool
    compile_mode: str
    fp8: bool = False
    """The denoiser's linear layers in float8 (``fp8.py``); ``dtype`` is then bfloat16."""


def probe_device(device: torch.device) -> DeviceTraits:
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        properties = torch.cuda.get_device_properties(index)
        # Ampere (compute capability 8) and later run bfloat16 on tensor cores.
        return DeviceTraits(
            device,
            properties.total_memory,
            properties.major >= 8,
            (properties.major, properties.minor),
        )
    return DeviceTraits(device)


def plan_acceleration(engine: EngineSettings, traits: DeviceTraits) -> Acceleration:
    """Decide every ``"auto"`` setting for the device described by ``traits``."""
    device = traits.device
    on_gpu = device.type == "cuda"
    if engine.dtype == "fp8":
        check_fp8_device(device, traits.capability)
        dtype = torch.bfloat16
    elif engine.dtype != "auto":
        dtype = DTYPES[engine.dtype]
    elif device.type == "cpu":
        dtype = torch.float32
    else:
        dtype = torch.bfloat16 if traits.bf16 else torch.float16
    channels_last = on_gpu if engine.channels_last == "auto" else engine.channels_last
    offload: Offload | Literal["auto"] = engine.cpu_offload
    if offload != "off" and device.type not in _ACCELERATORS:
        if offload != "auto":
            log.warning(
                "engine.cpu_offload = %r needs a GPU; the device is %s, so it is ignored",
                offload,
                device,
            )
        offload = "off"
    compile_mode = engine.compile_mode
    if compile_mode == "auto":
        # Autotuned GEMMs pay on a GPU; CUDA graphs would be recorded again for every image
        # size and batch, so they stay off. On a CPU autotuning only lengthens compilation.
        compile_mode = "max-autotune-no-cudagraphs" if on_gpu else "default"
    return Acceleration(
        device=device,
        dtype=dtype,
        attention=engine.attention,
        channels_last=channels_last,
        vae_slice_above=engine.vae_slice_above,
        vae_tile_above=engine.vae_tile_above,
        cpu_offload=offload,
        total_memory=traits.total_memory,
        compile=engine.compile,
        compile_mode=compile_mode,
        fp8=engine.dtype == "fp8",
    )


def accelerate(pipeline: DiffusionPipeline, plan: Acceleration) -> None:
    """Apply ``plan`` to a freshly loaded pipeline and put it on the device (or offload it)."""
    denoiser = _denoiser(pipeline)
    processor = AttnProcessor2_0() if plan.attention == "sdpa" else AttnProcessor()
    for component in _modules(pipeline):
        if _classic_attention(component):
            component.set_attn_processor(processor)
    if plan.channels_last:
        for component in (denoiser, getattr(pipeline, "vae", None)):
            if component is not None:
                component.to(memory_format=torch.channels_last)
    vae = getattr(pipeline, "vae", None)
    if vae is not None and hasattr(vae, "enable_tiling"):
        install_vae_policy(vae, plan.vae_slice_above, plan.vae_tile_above)

    offload = offload_for(pipeline, plan)
    if offload == "model":
        pipeline.enable_model_cpu_offload(device=plan.device)
    elif offload == "sequential":
        pipeline.enable_sequential_cpu_offload(device=plan.device)
    else:
        pipeline.to(plan.device)

    if plan.fp8 and denoiser is not None:
        if getattr(denoiser, "is_quantized", False):
            raise UserError(
                'engine.dtype = "fp8" quantises the transformer, which this model already loads '
                "quantised (its preset's quantize); use one or the other."
            )
        quantize_fp8(denoiser)
    if plan.compile and denoiser is not None:
        if plan.device.type == "cuda":
            # From diffusers' guide to fast SDXL inference: 1x1 convolutions as matmuls, and
            # a finer search over kernel configurations.
            inductor = torch._inductor.config
            inductor.conv_1x1_as_mm = True
            inductor.coordinate_descent_tuning = True
        if getattr(pipeline, "transformer", None) is denoiser:
            compile_blocks(denoiser, plan.compile_mode)
        else:
            # In place: the UNet keeps its class, so the pipeline and ``from_pipe`` accept it.
            denoiser.compile(mode=plan.compile_mode)


def compile_blocks(transformer: torch.nn.Module, mode: str) -> int:
    """Regional compilation: each repeated block's ``forward`` through ``torch.compile``.

    The blocks of one class share their compiled code, so compiling takes one block's time
    (under a minute, where the whole transformer takes minutes) and a new image size
    recompiles only that. Like diffusers' ``compile_repeated_blocks``, over the classes of the
    model's ``_repeated_blocks``, but compiling ``forward`` rather than the module call: the
    step cache's hooks (``step_cache.py``) wrap ``forward`` per job, and would otherwise be
    traced into the graph and recompile it for every job. Returns the blocks compiled.
    """
    names = set(getattr(transformer, "_repeated_blocks", ()) or ())
    blocks = [module for module in transformer.modules() if type(module).__name__ in names]
    if not blocks:
        raise UserError(
            f"{type(transformer).__name__} names no repeated blocks to compile; set "
            "engine.compile = false for this model."
        )
    for block in blocks:
        block.forward = torch.compile(block.forward, mode=mode)
    return len(blocks)


def offload_for(pipeline: DiffusionPipeline, plan: Acceleration) -> Offload:
    if plan.cpu_offload != "auto":
        return plan.cpu_offload
    if plan.total_memory is None:
        return "off"
    weights = sum(_weight_bytes(component) for component in _modules(pipeline))
    if weights > OFFLOAD_WEIGHT_SHARE * plan.total_memory:
        log.info(
            "model CPU offload on: the weights (%.1f GiB) take more than half of the GPU's "
            '%.1f GiB; set engine.cpu_offload = "off" to keep them resident',
            weights / 2**30,
            plan.total_memory / 2**30,
        )
        return "model"
    return "off"


def install_vae_policy(vae: Any, slice_above: int, tile_above: int) -> None:
    """Encode and decode large batches one image at a time and large images in tiles.

    Both trade a little speed for a much lower memory peak, so they switch on per call, from
    its size: slicing when the batch has more than ``slice_above`` pixels, tiling when one
    image has more than ``tile_above`` (0 turns either off). Tiles are the VAE's native size.
    Encoding matters for image-to-image at large sizes (HD, Upscale (Creative)).
    """
    decode, encode = vae.decode, vae.encode
    scale = 2 ** (len(getattr(vae.config, "block_out_channels", (0,) * 4)) - 1)

    def choose(batch: int, image_pixels: int) -> None:
        vae.use_slicing = batch > 1 and 0 < slice_above < image_pixels * batch
        vae.use_tiling = 0 < tile_above < image_pixels

    def decode_with_policy(latents: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        choose(latents.shape[0], latents.shape[-1] * latents.shape[-2] * scale * scale)
        return decode(latents, *args, **kwargs)

    def encode_with_policy(images: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        choose(images.shape[0], images.shape[-1] * images.shape[-2])
        return encode(images, *args, **kwargs)

    vae.decode = decode_with_policy
    vae.encode = encode_with_policy


def warm_up(pipeline: DiffusionPipeline, width: int, height: int, **inputs: Any) -> None:
    """A short grid at this size: compiles the denoiser for it and picks every kernel once.
    ``inputs`` are the family's guidance (and negative prompt) arguments.

    A job of another size, or another batch (guidance 0 halves it), may still compile once.
    """
    pipeline(
        prompt=["warm-up"] * GRID_SIZE,
        width=width,
        height=height,
        num_inference_steps=WARM_UP_STEPS,
        **inputs,
    )


def _classic_attention(component: torch.nn.Module) -> bool:
    """Whether ``component``'s attention runs diffusers' classic processors (UNets, VAEs),
    which ``engine.attention`` swaps; transformers' own (FLUX, SD3) already use SDPA."""
    if not hasattr(component, "set_attn_processor"):
        return False
    processors = component.attn_processors
    return bool(processors) and all(
        isinstance(processor, (AttnProcessor, AttnProcessor2_0))
        for processor in processors.values()
    )


def _denoiser(pipeline: DiffusionPipeline) -> Any:
    return getattr(pipeline, "unet", None) or getattr(pipeline, "transformer", None)


def _modules(pipeline: DiffusionPipeline) -> list[torch.nn.Module]:
    return [
        component
        for component in pipeline.components.values()
        if isinstance(component, torch.nn.Module)
    ]


def _weight_bytes(module: torch.nn.Module) -> int:
    return sum(tensor.numel() * tensor.element_size() for tensor in module.parameters())
