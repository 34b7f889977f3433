"""The FLUX.1 [dev]- and Z-Image-shaped pipelines of ``gpu_transformers.py``: the real
configs, random bfloat16 weights, random prompt embeddings of the real shapes, and their FLOPs
counted on the meta device. (Not a script: the underscore keeps the smoke test off it.)"""

from __future__ import annotations

from typing import Any

# black-forest-labs/FLUX.1-dev transformer/config.json
FLUX_TRANSFORMER: dict[str, Any] = {
    "patch_size": 1,
    "in_channels": 64,
    "num_layers": 19,
    "num_single_layers": 38,
    "attention_head_dim": 128,
    "num_attention_heads": 24,
    "joint_attention_dim": 4096,
    "pooled_projection_dim": 768,
    "guidance_embeds": True,
    "axes_dims_rope": (16, 56, 56),
}
# vae/config.json (FLUX.1; Z-Image uses the same VAE)
FLUX_VAE: dict[str, Any] = {
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 16,
    "down_block_types": ("DownEncoderBlock2D",) * 4,
    "up_block_types": ("UpDecoderBlock2D",) * 4,
    "block_out_channels": (128, 256, 512, 512),
    "layers_per_block": 2,
    "norm_num_groups": 32,
    "sample_size": 1024,
    "scaling_factor": 0.3611,
    "shift_factor": 0.1159,
    "use_quant_conv": False,
    "use_post_quant_conv": False,
}
# Tongyi-MAI/Z-Image-Turbo transformer/config.json
ZIMAGE_TRANSFORMER: dict[str, Any] = {
    "all_patch_size": (2,),
    "all_f_patch_size": (1,),
    "in_channels": 16,
    "dim": 3840,
    "n_layers": 30,
    "n_refiner_layers": 2,
    "n_heads": 30,
    "n_kv_heads": 30,
    "norm_eps": 1e-5,
    "qk_norm": True,
    "cap_feat_dim": 2560,
    "rope_theta": 256.0,
    "t_scale": 1000.0,
    "axes_dims": [32, 48, 48],
    "axes_lens": [1536, 512, 512],
}
SMALL = {
    "flux": {
        **FLUX_TRANSFORMER,
        "num_layers": 2,
        "num_single_layers": 3,
        "attention_head_dim": 16,
        "num_attention_heads": 2,
        "joint_attention_dim": 32,
        "pooled_projection_dim": 16,
        "axes_dims_rope": (4, 6, 6),
    },
    "zimage": {
        **ZIMAGE_TRANSFORMER,
        "dim": 32,
        "n_layers": 3,
        "n_refiner_layers": 1,
        "n_heads": 2,
        "n_kv_heads": 2,
        "cap_feat_dim": 32,
        "axes_dims": [4, 6, 6],
    },
    "vae": {
        **FLUX_VAE,
        "block_out_channels": (16, 16, 32, 32),
        "layers_per_block": 1,
        "norm_num_groups": 8,
    },
}
MODELS = {
    # name: (family, steps, guidance, text tokens)
    "flux1-dev": ("flux1", 28, 3.5, 512),
    "zimage": ("zimage", 28, 4.0, 128),
}


def build(model: str, small: bool, device: Any) -> Any:
    """The pipeline of ``model`` with random weights, bfloat16 on ``device``, no text encoders."""
    import torch
    from diffusers import (
        AutoencoderKL,
        FlowMatchEulerDiscreteScheduler,
        FluxPipeline,
        FluxTransformer2DModel,
        ZImagePipeline,
        ZImageTransformer2DModel,
    )

    flux = model.startswith("flux")
    config = (SMALL["flux" if flux else "zimage"] if small else None) or (
        FLUX_TRANSFORMER if flux else ZIMAGE_TRANSFORMER
    )
    torch.manual_seed(0)
    with torch.device(device):
        transformer = (FluxTransformer2DModel if flux else ZImageTransformer2DModel)(**config)
        vae = AutoencoderKL(**(SMALL["vae"] if small else FLUX_VAE))
    for module in (transformer, vae):
        module.to(torch.bfloat16).eval().requires_grad_(False)
    scheduler = FlowMatchEulerDiscreteScheduler(
        shift=3.0,
        use_dynamic_shifting=flux,
        base_shift=0.5,
        max_shift=1.15,
        base_image_seq_len=256,
        max_image_seq_len=4096,
    )
    parts = {"scheduler": scheduler, "vae": vae, "text_encoder": None, "tokenizer": None}
    if flux:
        pipeline = FluxPipeline(
            **parts, text_encoder_2=None, tokenizer_2=None, transformer=transformer
        )
    else:
        pipeline = ZImagePipeline(**parts, transformer=transformer)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def prompt_inputs(pipeline: Any, model: str, images: int, device: Any) -> dict[str, Any]:
    """Random prompt embeddings of the real shapes, the same for every variant."""
    import torch

    tokens = MODELS[model][3]
    generator = torch.Generator().manual_seed(1)
    transformer = pipeline.transformer.config
    if model.startswith("flux"):
        width = transformer.joint_attention_dim
        embeds = torch.randn(images, tokens, width, generator=generator)
        pooled = torch.randn(images, transformer.pooled_projection_dim, generator=generator)
        return {
            "prompt_embeds": embeds.to(device, torch.bfloat16),
            "pooled_prompt_embeds": pooled.to(device, torch.bfloat16),
        }
    width = transformer.cap_feat_dim
    embeds = [torch.randn(tokens, width, generator=generator) for _ in range(2 * images)]
    embeds = [e.to(device, torch.bfloat16) for e in embeds]
    return {"prompt_embeds": embeds[:images], "negative_prompt_embeds": embeds[images:]}


def count_flops(model: str, small: bool, size: int, steps: int, images: int) -> dict[str, float]:
    """Matmul and attention FLOPs of one call: every transformer step and the VAE decode,
    counted on the meta device (no memory, no arithmetic)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    pipeline = build(model, small, torch.device("meta"))
    _, _, guidance, _ = MODELS[model]
    batch = images * (1 if model.startswith("flux") else 2)  # Z-Image batches its CFG
    latents = size // 8
    meta = torch.device("meta")
    with torch.no_grad():
        inputs = prompt_inputs(pipeline, model, batch, meta)
        with FlopCounterMode(display=False) as step:
            if model.startswith("flux"):
                tokens = (latents // 2) ** 2
                pipeline.transformer(
                    hidden_states=torch.zeros(batch, tokens, 64, device=meta, dtype=torch.bfloat16),
                    encoder_hidden_states=inputs["prompt_embeds"],
                    pooled_projections=inputs["pooled_prompt_embeds"],
                    timestep=torch.ones(batch, device=meta),
                    guidance=torch.full((batch,), guidance, device=meta),
                    img_ids=torch.zeros(tokens, 3, device=meta),
                    txt_ids=torch.zeros(inputs["prompt_embeds"].shape[1], 3, device=meta),
                    return_dict=False,
                )
            else:
                pipeline.transformer(
                    [torch.zeros(16, 1, latents, latents, device=meta, dtype=torch.bfloat16)]
                    * batch,
                    torch.ones(batch, device=meta),
                    inputs["prompt_embeds"],
                    return_dict=False,
                )
        latent = torch.zeros(images, 16, latents, latents, device=meta, dtype=torch.bfloat16)
        with FlopCounterMode(display=False) as vae:
            pipeline.vae.decode(latent, return_dict=False)
    per_step = step.get_total_flops()
    return {
        "step": per_step,
        "vae": vae.get_total_flops(),
        "total": steps * per_step + vae.get_total_flops(),
    }
