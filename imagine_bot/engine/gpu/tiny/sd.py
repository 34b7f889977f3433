"""``builtin:tiny``: a small, randomly initialised Stable-Diffusion-1.x-shaped pipeline."""

from __future__ import annotations

from diffusers import (
    AutoencoderKL,
    EulerAncestralDiscreteScheduler,
    StableDiffusionPipeline,
    UNet2DConditionModel,
)

from imagine_bot.engine.gpu.tiny.parts import clip_encoder, clip_tokenizer, seeded


def tiny_vae(latent_channels: int = 4) -> AutoencoderKL:
    """Four blocks give the usual 8x latent downscale, so sizes behave as in real models."""
    return AutoencoderKL(
        block_out_channels=(8, 8, 16, 16),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=latent_channels,
        norm_num_groups=8,
        layers_per_block=1,
        sample_size=256,
    )


def build() -> StableDiffusionPipeline:
    with seeded():
        tokenizer = clip_tokenizer()
        text_encoder = clip_encoder(tokenizer)
        unet = UNet2DConditionModel(
            sample_size=32,
            block_out_channels=(16, 32),
            layers_per_block=1,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            cross_attention_dim=32,
            attention_head_dim=8,
            norm_num_groups=8,
        )
        vae = tiny_vae()
    scheduler = EulerAncestralDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1
    )
    return StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
