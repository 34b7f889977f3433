"""``builtin:tiny-flux2``: a FLUX.2-[klein]-shaped pipeline (a Qwen3 text encoder read at three
depths, the 32-channel FLUX.2 VAE, a flux2 transformer without guidance embeddings)."""

from __future__ import annotations

from diffusers import (
    AutoencoderKLFlux2,
    FlowMatchEulerDiscreteScheduler,
    Flux2KleinPipeline,
    Flux2Transformer2DModel,
)
from transformers import Qwen3ForCausalLM

from imagine_bot.engine.gpu.tiny.parts import qwen_tokenizer, seeded
from imagine_bot.engine.gpu.tiny.zimage import qwen3_config

ENCODER_LAYERS = 28
"""The pipeline stacks the text encoder's hidden states 9, 18 and 27, as FLUX.2 [klein]'s
Qwen3 has them, so the tiny encoder keeps that depth (at 32 channels it is still small)."""


def build() -> Flux2KleinPipeline:
    with seeded():
        tokenizer = qwen_tokenizer()
        text_encoder = Qwen3ForCausalLM(qwen3_config(len(tokenizer), layers=ENCODER_LAYERS))
        transformer = Flux2Transformer2DModel(
            patch_size=1,
            in_channels=128,  # 32 latent channels packed 2x2
            num_layers=1,
            num_single_layers=1,
            attention_head_dim=16,
            num_attention_heads=2,
            joint_attention_dim=3 * 32,
            timestep_guidance_channels=32,
            axes_dims_rope=(4, 4, 4, 4),
            guidance_embeds=False,
        )
        vae = AutoencoderKLFlux2(
            block_out_channels=(8, 8, 16, 16),
            latent_channels=32,
            norm_num_groups=8,
            layers_per_block=1,
            sample_size=256,
            mid_block_add_attention=False,
        )
    return Flux2KleinPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0, use_dynamic_shifting=True),
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        transformer=transformer,
        is_distilled=True,
    )
