"""``builtin:tiny-sd3``: a Stable-Diffusion-3.5-shaped pipeline (two CLIPs and a T5, an MMDiT
transformer over a 16-channel VAE)."""

from __future__ import annotations

from diffusers import (
    FlowMatchEulerDiscreteScheduler,
    SD3Transformer2DModel,
    StableDiffusion3Pipeline,
)

from imagine_bot.engine.gpu.tiny.parts import (
    clip_encoder,
    clip_tokenizer,
    seeded,
    t5_encoder,
    t5_tokenizer,
)
from imagine_bot.engine.gpu.tiny.sd import tiny_vae


def build() -> StableDiffusion3Pipeline:
    with seeded():
        tokenizer, tokenizer_2, tokenizer_3 = clip_tokenizer(), clip_tokenizer(), t5_tokenizer()
        text_encoder = clip_encoder(tokenizer, projection=True)
        text_encoder_2 = clip_encoder(tokenizer_2, projection=True)
        # SD3 pads the two CLIPs' 32 + 32 channels up to T5's width.
        text_encoder_3 = t5_encoder(tokenizer_3, width=64)
        transformer = SD3Transformer2DModel(
            sample_size=32,
            patch_size=2,
            in_channels=16,
            num_layers=1,
            attention_head_dim=8,
            num_attention_heads=4,
            joint_attention_dim=64,
            caption_projection_dim=32,
            pooled_projection_dim=64,
            out_channels=16,
            pos_embed_max_size=96,
        )
        vae = tiny_vae(latent_channels=16)
    vae.register_to_config(scaling_factor=1.5305, shift_factor=0.0609)
    return StableDiffusion3Pipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        text_encoder_2=text_encoder_2,
        tokenizer_2=tokenizer_2,
        text_encoder_3=text_encoder_3,
        tokenizer_3=tokenizer_3,
        transformer=transformer,
    )
