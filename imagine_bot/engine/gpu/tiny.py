"""The ``tiny`` model: a small, randomly initialised Stable-Diffusion-shaped pipeline.

It is built on this machine (no download) into the model folder, then loaded with
``from_pretrained`` like any other model. Its weights come from a fixed seed, so every machine
builds the same model. Its images are noise: it exists for trying the bot and for tests.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    EulerAncestralDiscreteScheduler,
    StableDiffusionPipeline,
    UNet2DConditionModel,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

TINY_SOURCE = "builtin:tiny"
FOLDER_NAME = "tiny"
_SEED = 20261122
_START, _END = "<|startoftext|>", "<|endoftext|>"


def ensure_tiny_model(models_dir: Path) -> Path:
    """The tiny model's folder under ``models_dir``, built first if it is not there yet."""
    target = models_dir / FOLDER_NAME
    if (target / "model_index.json").is_file():
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    # Build beside the target and rename into place, so a crash or a concurrent build never
    # leaves a half-written model that later loads fail on.
    with tempfile.TemporaryDirectory(dir=models_dir, prefix=".tiny-") as scratch:
        build_tiny_pipeline().save_pretrained(Path(scratch) / FOLDER_NAME)
        try:
            (Path(scratch) / FOLDER_NAME).rename(target)
        except OSError:
            if not (target / "model_index.json").is_file():
                raise
    return target


def build_tiny_pipeline() -> StableDiffusionPipeline:
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(_SEED)
    try:
        tokenizer = _build_tokenizer()
        text_encoder = CLIPTextModel(
            CLIPTextConfig(
                vocab_size=len(tokenizer),
                hidden_size=32,
                intermediate_size=64,
                num_hidden_layers=2,
                num_attention_heads=4,
                max_position_embeddings=tokenizer.model_max_length,
                projection_dim=32,
                bos_token_id=tokenizer.bos_token_id,
                eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id,
            )
        )
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
        # Four blocks give the usual 8x latent downscale, so sizes behave as in real models.
        vae = AutoencoderKL(
            block_out_channels=(8, 8, 16, 16),
            down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4,
            latent_channels=4,
            norm_num_groups=8,
            layers_per_block=1,
            sample_size=256,
        )
    finally:
        torch.random.set_rng_state(generator_state)
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


def _build_tokenizer() -> CLIPTokenizer:
    """A CLIP BPE tokenizer with a character-level vocabulary and no merges."""
    characters = list(_byte_to_unicode().values())
    vocab = {
        token: index for index, token in enumerate(characters + [c + "</w>" for c in characters])
    }
    vocab[_START] = len(vocab)
    vocab[_END] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def _byte_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from bytes to printable characters, which CLIP's BPE reads."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    codes = list(printable)
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return {byte: chr(code) for byte, code in zip(printable, codes, strict=True)}
