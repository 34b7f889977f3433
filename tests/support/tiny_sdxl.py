"""A tiny random SDXL-shaped pipeline: two CLIP text encoders (the second with a projection,
giving the pooled embedding) and a UNet with SDXL's text_time conditioning."""

from __future__ import annotations

import torch
from diffusers import (
    AutoencoderKL,
    EulerDiscreteScheduler,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

from imagine_bot.engine.gpu.tiny.parts import clip_tokenizer

FIRST_WIDTH, SECOND_WIDTH = 32, 64
"""The hidden sizes of the two text encoders; the UNet reads both side by side."""


def build_tiny_sdxl() -> StableDiffusionXLPipeline:
    tokenizer = clip_tokenizer()
    text: dict[str, object] = {
        "vocab_size": len(tokenizer),
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "max_position_embeddings": tokenizer.model_max_length,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    torch.manual_seed(0)
    first = CLIPTextModel(
        CLIPTextConfig(hidden_size=FIRST_WIDTH, intermediate_size=64, projection_dim=32, **text)
    )
    second = CLIPTextModelWithProjection(
        CLIPTextConfig(hidden_size=SECOND_WIDTH, intermediate_size=128, projection_dim=64, **text)
    )
    unet = UNet2DConditionModel(
        sample_size=8,
        block_out_channels=(16, 32),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=FIRST_WIDTH + SECOND_WIDTH,
        attention_head_dim=(2, 4),
        norm_num_groups=8,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=SECOND_WIDTH + 6 * 8,
    )
    vae = AutoencoderKL(
        block_out_channels=(8, 16),
        down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2,
        latent_channels=4,
        norm_num_groups=8,
        layers_per_block=1,
    )
    pipeline = StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=first,
        text_encoder_2=second,
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        unet=unet,
        scheduler=EulerDiscreteScheduler(beta_schedule="scaled_linear", steps_offset=1),
        add_watermarker=False,
    )
    pipeline.set_progress_bar_config(disable=True)
    return pipeline
