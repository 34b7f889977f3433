"""Tiny random /describe models for tests: a BLIP captioner and a CLIP ranker, saved with
``save_pretrained`` in the layout of the published ones, so ``Describer`` loads them through
the same ``from_pretrained`` path. Their captions are random words; their rankings are noise."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import (
    BertTokenizer,
    BlipConfig,
    BlipForConditionalGeneration,
    BlipProcessor,
    CLIPConfig,
    CLIPModel,
    CLIPProcessor,
    CLIPTokenizer,
)
from transformers.models.blip import BlipImageProcessorPil
from transformers.models.clip import CLIPImageProcessorPil

from imagine_bot.engine.gpu.tiny import ensure_tiny_model

_SEED = 20261201
_SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_WORDS = [
    "a",
    "the",
    "red",
    "blue",
    "cat",
    "boat",
    "house",
    "tree",
    "lake",
    "sky",
    "man",
    "woman",
    "on",
    "in",
    "of",
    "with",
    "at",
    "near",
]
_SIDE = 32
_LAYERS = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2}


def tiny_describe_models(models_dir: Path) -> tuple[Path, Path]:
    """The captioning and ranking model folders under ``models_dir``, built on first use."""
    caption, rank = models_dir / "tiny-blip", models_dir / "tiny-clip"
    if not (caption / "config.json").is_file() or not (rank / "config.json").is_file():
        state = torch.random.get_rng_state()
        torch.manual_seed(_SEED)
        try:
            _build_captioner(caption)
            _build_ranker(
                rank,
                CLIPTokenizer.from_pretrained(ensure_tiny_model(models_dir), subfolder="tokenizer"),
            )
        finally:
            torch.random.set_rng_state(state)
    return caption, rank


def describe_env(models_dir: Path) -> dict[str, str]:
    caption, rank = tiny_describe_models(models_dir)
    return {
        "IMAGINE_DESCRIBE__CAPTION_MODEL": str(caption),
        "IMAGINE_DESCRIBE__RANKING_MODEL": str(rank),
        "IMAGINE_DESCRIBE__MAX_WORDS": "6",
    }


def _build_captioner(folder: Path) -> None:
    tokenizer = BertTokenizer(vocab={word: i for i, word in enumerate(_SPECIAL + _WORDS)})
    text = {
        **_LAYERS,
        "vocab_size": len(tokenizer),
        "num_attention_heads": 4,
        "max_position_embeddings": 32,
        "encoder_hidden_size": 32,
        "bos_token_id": tokenizer.cls_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "sep_token_id": tokenizer.sep_token_id,
        "eos_token_id": tokenizer.sep_token_id,
    }
    vision = {**_LAYERS, "num_attention_heads": 4, "image_size": _SIDE, "patch_size": 8}
    model = BlipForConditionalGeneration(
        BlipConfig(text_config=text, vision_config=vision, projection_dim=32)
    )
    processor = BlipProcessor(
        image_processor=BlipImageProcessorPil(size={"height": _SIDE, "width": _SIDE}),
        tokenizer=tokenizer,
    )
    model.save_pretrained(folder)
    processor.save_pretrained(folder)


def _build_ranker(folder: Path, tokenizer: CLIPTokenizer) -> None:
    text = {
        **_LAYERS,
        "vocab_size": len(tokenizer),
        "num_attention_heads": 4,
        "max_position_embeddings": tokenizer.model_max_length,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    vision = {**_LAYERS, "num_attention_heads": 4, "image_size": _SIDE, "patch_size": 8}
    model = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=16))
    size = {"shortest_edge": _SIDE}
    processor = CLIPProcessor(
        image_processor=CLIPImageProcessorPil(
            size=size, crop_size={"height": _SIDE, "width": _SIDE}
        ),
        tokenizer=tokenizer,
    )
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
