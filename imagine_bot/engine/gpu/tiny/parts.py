"""What the tiny models of every family are made of: offline tokenizers and small text encoders.

Real tokenizers come with vocabularies downloaded from the hub; these are built from the
characters alone (one token per character, no merges), in the formats the pipelines load:
CLIP's BPE, T5's SentencePiece unigram and Qwen's byte-level BPE with its chat template. The
text encoders are the real transformers classes at a few dozen channels.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    CLIPTokenizer,
    Qwen2TokenizerFast,
    T5Config,
    T5EncoderModel,
    T5TokenizerFast,
)

SEED = 20261122
"""Every tiny model's weights come from this seed, so every machine builds the same model."""
_START, _END = "<|startoftext|>", "<|endoftext|>"
QWEN_CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
"""The shape of Qwen's ChatML template, which the Qwen-conditioned pipelines apply to a prompt."""

Built = TypeVar("Built")


@contextmanager
def seeded() -> Iterator[None]:
    """Within the block, torch's global generator starts from ``SEED``; restored afterwards."""
    state = torch.random.get_rng_state()
    torch.manual_seed(SEED)
    try:
        yield
    finally:
        torch.random.set_rng_state(state)


def build_seeded(build: Callable[[], Built]) -> Built:
    with seeded():
        return build()


def clip_tokenizer() -> CLIPTokenizer:
    """A CLIP BPE tokenizer with a character-level vocabulary and no merges."""
    characters = list(_byte_to_unicode().values())
    vocab = {
        token: index for index, token in enumerate(characters + [c + "</w>" for c in characters])
    }
    vocab[_START] = len(vocab)
    vocab[_END] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def clip_encoder(tokenizer: CLIPTokenizer, *, projection: bool = False) -> CLIPTextModel:
    """A two-layer CLIP text encoder of 32 channels (with a text projection, as SDXL's and
    SD3's second encoders have, when ``projection``)."""
    config = CLIPTextConfig(
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
    return CLIPTextModelWithProjection(config) if projection else CLIPTextModel(config)


def t5_tokenizer() -> T5TokenizerFast:
    """A T5 unigram tokenizer over the printable ASCII characters, ending each text with
    ``</s>`` as T5's does."""
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -1.0)]
    pieces += [(character, -2.0) for character in string.printable.strip()]
    backend = Tokenizer(models.Unigram(pieces, unk_id=2, byte_fallback=False))
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.decoder = decoders.Metaspace()
    backend.post_processor = processors.TemplateProcessing(
        single="$A </s>", special_tokens=[("</s>", 1)]
    )
    return T5TokenizerFast(
        tokenizer_object=backend,
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        extra_ids=0,
        model_max_length=512,
    )


def t5_encoder(tokenizer: T5TokenizerFast, width: int = 32) -> T5EncoderModel:
    return T5EncoderModel(
        T5Config(
            vocab_size=len(tokenizer),
            d_model=width,
            d_kv=8,
            d_ff=2 * width,
            num_layers=2,
            num_heads=4,
            relative_attention_num_buckets=8,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
            decoder_start_token_id=tokenizer.pad_token_id,
        )
    )


def qwen_tokenizer() -> Qwen2TokenizerFast:
    """A byte-level BPE tokenizer (one token per byte) with Qwen's special tokens and chat
    template."""
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    backend = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(alphabet)}, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens(["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    tokenizer = Qwen2TokenizerFast(
        tokenizer_object=backend,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        model_max_length=2048,
    )
    tokenizer.chat_template = QWEN_CHAT_TEMPLATE
    return tokenizer


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
