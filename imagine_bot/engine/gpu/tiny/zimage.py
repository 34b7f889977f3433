"""``builtin:tiny-zimage``: a Z-Image-shaped pipeline (a Qwen3 text encoder, a single-stream
transformer over FLUX.1's 16-channel VAE)."""

from __future__ import annotations

from diffusers import FlowMatchEulerDiscreteScheduler, ZImagePipeline, ZImageTransformer2DModel
from transformers import Qwen3Config, Qwen3Model

from imagine_bot.engine.gpu.tiny.flux import FLUX_VAE_SCALING
from imagine_bot.engine.gpu.tiny.parts import qwen_tokenizer, seeded
from imagine_bot.engine.gpu.tiny.sd import tiny_vae


def qwen3_config(vocab_size: int, layers: int) -> Qwen3Config:
    return Qwen3Config(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=8,
        max_position_embeddings=2048,
    )


def build() -> ZImagePipeline:
    with seeded():
        tokenizer = qwen_tokenizer()
        text_encoder = Qwen3Model(qwen3_config(len(tokenizer), layers=2))
        transformer = ZImageTransformer2DModel(
            all_patch_size=(2,),
            all_f_patch_size=(1,),
            in_channels=16,
            dim=32,
            n_layers=1,
            n_refiner_layers=1,
            n_heads=2,
            n_kv_heads=2,
            cap_feat_dim=32,
            axes_dims=[4, 6, 6],
            axes_lens=[1024, 256, 256],
        )
        vae = tiny_vae(latent_channels=16)
    vae.register_to_config(**FLUX_VAE_SCALING)
    return ZImagePipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        transformer=transformer,
    )
