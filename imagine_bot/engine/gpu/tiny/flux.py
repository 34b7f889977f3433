"""``builtin:tiny-flux``: a FLUX.1-[dev]-shaped pipeline (CLIP + T5, a 16-channel VAE, a
flux transformer with distilled guidance embeddings)."""

from __future__ import annotations

from diffusers import FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel

from imagine_bot.engine.gpu.tiny.parts import (
    clip_encoder,
    clip_tokenizer,
    seeded,
    t5_encoder,
    t5_tokenizer,
)
from imagine_bot.engine.gpu.tiny.sd import tiny_vae

FLUX_VAE_SCALING = {"scaling_factor": 0.3611, "shift_factor": 0.1159}
"""FLUX.1's VAE factors (Z-Image shares its VAE)."""


def build() -> FluxPipeline:
    with seeded():
        tokenizer, tokenizer_2 = clip_tokenizer(), t5_tokenizer()
        text_encoder = clip_encoder(tokenizer)
        text_encoder_2 = t5_encoder(tokenizer_2)
        transformer = FluxTransformer2DModel(
            patch_size=1,
            in_channels=64,  # 16 latent channels packed 2x2
            num_layers=1,
            num_single_layers=1,
            attention_head_dim=16,
            num_attention_heads=2,
            joint_attention_dim=32,
            pooled_projection_dim=32,
            guidance_embeds=True,
            axes_dims_rope=(4, 6, 6),
        )
        vae = tiny_vae(latent_channels=16)
    vae.register_to_config(**FLUX_VAE_SCALING)
    return FluxPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0, use_dynamic_shifting=True),
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        text_encoder_2=text_encoder_2,
        tokenizer_2=tokenizer_2,
        transformer=transformer,
    )
